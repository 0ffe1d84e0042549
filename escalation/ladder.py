"""The escalation ladder's rules as pure functions over pydantic state.

The workflow is a thin loop over these: it asks what to do next, waits, and records what
happened through the transitions below. Nothing here touches Temporal, the clock or I/O,
so every rule is unit- and property-testable on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from escalation.durations import MINIMUM, format_duration
from escalation.integrations import INTEGRATION_PREFIX
from escalation.models import EscalationPolicy, Severity, schedule_name
from escalation.state import (
    ActionResult,
    EscalationInput,
    EscalationRecord,
    EscalationState,
    EventKind,
    NotifyResult,
    OccurrenceRequest,
    Phase,
    Resolution,
    ResolvedTargets,
    Status,
    StatusView,
    Step,
    TimelineEvent,
)

if TYPE_CHECKING:  # the requests live with the action table, which imports these transitions
    from escalation import actions

NOTIFY_TOTAL_LIMIT = timedelta(minutes=2)
M = TypeVar("M", bound=BaseModel)

# --- decisions -----------------------------------------------------------------------


def tier_index(policy: EscalationPolicy, name: str) -> int:
    """The position of the tier called ``name`` (the policy has validated that it exists)."""
    return next(i for i, tier in enumerate(policy.tiers) if tier.name == name)


def start_tier(policy: EscalationPolicy, severity: Severity) -> int:
    """The tier an incident of this severity is paged at first."""
    name = policy.rule(severity).start_tier
    return 0 if name is None else tier_index(policy, name)


def repeat_tier(policy: EscalationPolicy, severity: Severity) -> int:
    """Where a repeat round starts: the policy's ``repeat_from``, else where the first round did."""
    return tier_index(policy, policy.repeat_from) if policy.repeat_from else start_tier(policy, severity)


def more_urgent(severity: Severity, than: Severity) -> bool:
    """SEV1 is more urgent than SEV2, and so on."""
    return list(Severity).index(severity) < list(Severity).index(than)


def first_step(policy: EscalationPolicy, severity: Severity) -> Step:
    return Step(round=0, tier=start_tier(policy, severity), phase=Phase.PRIMARY)


def next_tier_step(policy: EscalationPolicy, severity: Severity, step: Step) -> Step | None:
    """The next tier's primary, or the start of the next round; None once the ladder is spent."""
    if step.tier + 1 < len(policy.tiers):
        return Step(round=step.round, tier=step.tier + 1, phase=Phase.PRIMARY)
    if step.round < policy.repeat:
        return Step(round=step.round + 1, tier=repeat_tier(policy, severity), phase=Phase.PRIMARY)
    return None


def next_step(policy: EscalationPolicy, severity: Severity, step: Step) -> Step | None:
    """Where the ladder goes when ``step`` times out: its backup first, if the tier has one."""
    if step.phase is Phase.PRIMARY and policy.tiers[step.tier].backup:
        return Step(round=step.round, tier=step.tier, phase=Phase.BACKUP)
    return next_tier_step(policy, severity, step)


def targets(policy: EscalationPolicy, step: Step) -> list[str]:
    tier = policy.tiers[step.tier]
    return list(tier.primary if step.phase is Phase.PRIMARY else tier.backup)


def has_schedules(targets: list[str]) -> bool:
    """Whether paging these targets needs the schedules read first (fixed ids never do)."""
    return any(schedule_name(target) for target in targets)


def current_targets(policy: EscalationPolicy, state: EscalationState) -> list[str]:
    """Whom the current step pages: as resolved when paged, else as the policy names them."""
    return list(state.paging) if state.paging is not None else targets(policy, state.step)


def wait_time(policy: EscalationPolicy, severity: Severity, step: Step) -> timedelta:
    """How long a step waits for an acknowledgement, scaled by severity, never under 1s."""
    tier = policy.tiers[step.tier]
    base = tier.ack_timeout if step.phase is Phase.PRIMARY else tier.effective_backup_timeout
    scaled = timedelta(seconds=round(base.total_seconds() * policy.rule(severity).timeout_scale))
    return max(scaled, MINIMUM)


def worst_case_to_last_tier(policy: EscalationPolicy, severity: Severity) -> timedelta:
    """How long after the trigger the last tier is first paged if nobody acknowledges: every step
    before it waits out its timeout. A step nobody could be reached on, or whose schedules have
    nobody on call, moves on at once, so it only comes sooner."""
    step: Step | None = first_step(policy, severity)
    total = timedelta(0)
    while step is not None and step.tier < len(policy.tiers) - 1:
        total += wait_time(policy, severity, step)
        step = next_step(policy, severity, step)
    return total


def worst_case_summary(policy: EscalationPolicy) -> str:
    """``escalate check``'s line for the policy: the worst case per severity, once if they agree."""
    waits = {severity: format_duration(worst_case_to_last_tier(policy, severity)) for severity in Severity}
    per_severity = ", ".join(f"{severity.value} {wait}" for severity, wait in waits.items())
    when = next(iter(waits.values())) if len(set(waits.values())) == 1 else per_severity
    return f"policy {policy.name}: last tier {policy.tiers[-1].name} paged at worst after {when}"


def notify_budget(wait: timedelta) -> timedelta:
    """Total time a page may take, retries included: half the step's wait, so it never stalls it."""
    return min(max(wait / 2, MINIMUM), NOTIFY_TOTAL_LIMIT)


def delivery_bound(budget: timedelta) -> timedelta:
    """What the notify activity spends on deliveries, leaving a fifth of the budget to report back."""
    return budget * 4 / 5


def idempotency_key(incident_id: str, escalation_id: str, step: Step, page: int) -> str:
    """Stable per page of one escalation, so a receiver can drop a copy delivered twice.

    ``escalation_id`` tells apart two escalations of the same incident id (the dedup key
    reopened after a resolve); ``page`` counts pages, so a step paged again (the top tier
    after a missed resolve deadline) is a new message rather than a duplicate.
    """
    return f"{incident_id}/{escalation_id}/r{step.round}/t{step.tier}/{step.phase.value}/p{page}"


def resolve_deadline(policy: EscalationPolicy, severity: Severity) -> timedelta | None:
    """Scaled like every other wait of the incident."""
    if policy.resolve_deadline is None:
        return None
    return max(policy.resolve_deadline * policy.rule(severity).timeout_scale, MINIMUM)


def tier_of(policy: EscalationPolicy, state: EscalationState, responder: str, highest: int) -> str:
    """The lowest tier, among those reached, that names the responder or had them on call: who
    answered, from where."""
    for index, tier in enumerate(policy.tiers[: highest + 1]):
        if responder in (*tier.primary, *tier.backup, *state.on_call.get(index, [])):
            return tier.name
    return policy.tiers[highest].name


# --- transitions ---------------------------------------------------------------------


MAX_TIMELINE = 500


def _event(
    state: EscalationState,
    policy: EscalationPolicy,
    at: datetime,
    kind: EventKind,
    step: Step | None = None,
    **fields: object,
) -> None:
    """Append to the timeline, labelled with ``step`` (default: the current one).

    Past ``MAX_TIMELINE`` events the oldest after ``triggered`` are dropped and counted, so the
    state a long escalation carries into a new run stays far below Temporal's payload limit;
    the dropped events stay in the escalation's Temporal history.
    """
    step = step or state.step
    state.timeline.append(
        TimelineEvent(at=at, kind=kind, tier_name=policy.tiers[step.tier].name, phase=step.phase, **fields)
    )
    while len(state.timeline) > MAX_TIMELINE:
        del state.timeline[1]
        state.omitted_events += 1


def begin(start: EscalationInput, now: datetime) -> EscalationState:
    policy, incident = start.policy, start.incident
    state = EscalationState(
        severity=incident.severity,
        step=first_step(policy, incident.severity),
        triggered_at=now,
        opened_by_integration=incident.source if incident.source.startswith(INTEGRATION_PREFIX) else None,
    )
    _event(
        state,
        policy,
        now,
        EventKind.TRIGGERED,
        note=f"{incident.severity.value} on {incident.service}: {incident.title} "
        f"(policy {policy.name} v{policy.version})",
    )
    return state


def paging_until(state: EscalationState, deadline: datetime) -> int:
    """Start paging the current step, waiting until ``deadline``; returns the page's number."""
    state.next_deadline = deadline
    state.pages += 1
    return state.pages


def record_notified(
    state: EscalationState, policy: EscalationPolicy, step: Step, result: NotifyResult, now: datetime
) -> None:
    """One ``notified`` event per channel, naming who was reached on it, for the step paged; and
    what a first page found on similar past incidents, or why it went out without them."""
    for channel in dict.fromkeys(d.channel for d in result.deliveries):
        reached = [d.responder for d in result.deliveries if d.channel == channel and d.delivered]
        failed = [d for d in result.deliveries if d.channel == channel and not d.delivered]
        if reached:
            _event(state, policy, now, EventKind.NOTIFIED, step, targets=reached, channel=channel)
        if failed:
            _event(
                state,
                policy,
                now,
                EventKind.NOTIFY_FAILED,
                step,
                channel=channel,
                targets=[d.responder for d in failed],
                note="; ".join(f"{d.responder}: {d.detail}" for d in failed),
            )
    if result.similar is not None:
        state.similar = result.similar
    elif result.similar_problem:
        note = f"similar past incidents could not be looked up: {result.similar_problem}"
        _event(state, policy, now, EventKind.SIMILAR_UNAVAILABLE, step, note=note)


def record_notify_failed(
    state: EscalationState,
    policy: EscalationPolicy,
    step: Step,
    paged: list[str],
    reason: str,
    now: datetime,
) -> None:
    _event(state, policy, now, EventKind.NOTIFY_FAILED, step, targets=paged, note=reason)


def time_out(state: EscalationState, policy: EscalationPolicy, now: datetime, reason: str = "") -> None:
    """Nobody acknowledged in time (or nobody could be reached): move on, or mark the ladder spent."""
    _event(state, policy, now, EventKind.ACK_TIMEOUT, targets=current_targets(policy, state), note=reason)
    _move_to(state, policy, next_step(policy, state.severity, state.step), now)


def record_on_call(
    state: EscalationState, policy: EscalationPolicy, resolved: ResolvedTargets, now: datetime
) -> list[str]:
    """The current step's schedules as read when it is paged: whom it pages; the timeline says who
    each schedule had on call, and those people may acknowledge from now on.

    A step left with nobody to page is skipped at once, saying why, rather than waiting out a
    timeout nobody can answer; a ladder of such steps ends exhausted, still open.
    """
    state.paging = list(resolved.responders)
    people = [person for names in resolved.schedules.values() for person in names]
    tier = state.step.tier
    state.on_call[tier] = list(dict.fromkeys([*state.on_call.get(tier, []), *people]))
    found = "; ".join(
        f"schedule:{name}: {', '.join(names) or 'nobody on call'}"
        for name, names in resolved.schedules.items()
    )
    when = f"at {resolved.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    note = "; ".join(part for part in (f"{found} {when}", resolved.problem) if part)
    _event(state, policy, now, EventKind.ON_CALL, targets=people, note=note)
    if not resolved.responders:
        _event(state, policy, now, EventKind.SKIPPED, note=f"nobody to page: {note}; skipped at once")
        _move_to(state, policy, next_step(policy, state.severity, state.step), now)
    return list(resolved.responders)


def _move_to(
    state: EscalationState,
    policy: EscalationPolicy,
    step: Step | None,
    now: datetime,
    actor: str | None = None,
    reason: str = "",
) -> None:
    """Page a new step from now on (or mark the ladder spent); anyone holding it lets go."""
    state.next_deadline = None
    state.acknowledged_by = None
    state.paging = None
    if step is None:
        state.status = Status.EXHAUSTED
        _event(
            state,
            policy,
            now,
            EventKind.EXHAUSTED,
            note="every tier was paged without an acknowledgement; still open",
        )
        return
    round_note = f"round {step.round + 1}" if step.round != state.step.round else ""
    state.step = step
    state.highest_tier = max(state.highest_tier, step.tier)
    state.status = Status.TRIGGERED
    note = "; ".join(part for part in (reason, round_note) if part)
    _event(state, policy, now, EventKind.ESCALATED, actor=actor, targets=targets(policy, step), note=note)


def acknowledge(
    state: EscalationState, policy: EscalationPolicy, request: actions.AcknowledgeRequest, now: datetime
) -> None:
    """Stop the ladder; the first acknowledgement is kept, as time to acknowledge counts it."""
    state.status = Status.ACKNOWLEDGED
    tier = tier_of(policy, state, request.responder, max(state.step.tier, state.highest_tier))
    if state.acknowledged_at is None:
        state.first_acknowledged_by = request.responder
        state.acknowledged_at, state.acknowledged_tier = now, tier
    _hold(state, request.responder, tier)
    deadline = resolve_deadline(policy, state.severity)
    state.next_deadline = now + deadline if deadline else None
    _event(state, policy, now, EventKind.ACKNOWLEDGED, actor=request.responder, note=request.note)


def resolve_overdue(state: EscalationState, policy: EscalationPolicy, now: datetime) -> None:
    """Acknowledged but not resolved by the deadline: hand it to the next tier up.

    On the top tier there is nowhere higher: the top tier is paged again. A missed
    deadline never starts a new round at a lower tier.
    """
    deadline = resolve_deadline(policy, state.severity) or timedelta(0)
    _event(
        state,
        policy,
        now,
        EventKind.RESOLVE_TIMEOUT,
        actor=state.acknowledged_by,
        note=f"not resolved within {format_duration(deadline)} of acknowledgement",
    )
    top = len(policy.tiers) - 1
    higher = min(state.step.tier + 1, top)
    reason = "" if state.step.tier < top else f"{policy.tiers[top].name} is the top tier: paging it again"
    _move_to(
        state, policy, Step(round=state.step.round, tier=higher, phase=Phase.PRIMARY), now, reason=reason
    )


def resolve(
    state: EscalationState, policy: EscalationPolicy, request: actions.ResolveRequest, now: datetime
) -> None:
    resolution = Resolution(summary=request.summary.strip(), root_cause=request.root_cause.strip())
    _close(state, policy, Status.RESOLVED, request.responder, resolution, now)


def escalate_now(
    state: EscalationState, policy: EscalationPolicy, request: actions.EscalateRequest, now: datetime
) -> None:
    """Hand the incident to the next tier (or the one named) at once; that tier must acknowledge again."""
    tier = tier_index(policy, request.to_tier) if request.to_tier else state.step.tier + 1
    step = Step(round=state.step.round, tier=tier, phase=Phase.PRIMARY)
    _move_to(state, policy, step, now, actor=request.responder, reason=request.reason.strip())


def add_note(
    state: EscalationState, policy: EscalationPolicy, request: actions.NoteRequest, now: datetime
) -> None:
    _event(state, policy, now, EventKind.NOTE, actor=request.responder, note=request.text.strip())


def change_severity(
    state: EscalationState, policy: EscalationPolicy, request: actions.SeverityRequest, now: datetime
) -> None:
    _rescale(state, policy, request.severity, now, actor=request.responder, reason=request.reason.strip())


def _rescale(
    state: EscalationState, policy: EscalationPolicy, new: Severity, now: datetime, actor: str, reason: str
) -> None:
    """Rescale what is left of the current wait; a raise may also move up to the severity's start tier.

    Lowering the severity never pages anyone new: it only lengthens the waits.
    """
    old = state.severity
    ratio = policy.rule(new).timeout_scale / policy.rule(old).timeout_scale
    state.severity = new
    if state.next_deadline is not None:
        remaining = max(state.next_deadline - now, timedelta(0))
        state.next_deadline = now + max(remaining * ratio, MINIMUM)
    note = f"{old.value} -> {new.value}: {reason}"
    _event(state, policy, now, EventKind.SEVERITY_CHANGED, actor=actor, note=note)
    start = start_tier(policy, new)
    if more_urgent(new, old) and state.status is Status.TRIGGERED and start > state.step.tier:
        step = Step(round=state.step.round, tier=start, phase=Phase.PRIMARY)
        _move_to(
            state,
            policy,
            step,
            now,
            actor=actor,
            reason=f"{new.value} starts at tier {policy.tiers[start].name}",
        )


def reassign(
    state: EscalationState, policy: EscalationPolicy, request: actions.ReassignRequest, now: datetime
) -> None:
    _event(
        state,
        policy,
        now,
        EventKind.REASSIGNED,
        actor=request.responder,
        targets=[request.to],
        note=f"from {state.acknowledged_by} to {request.to}",
    )
    _hold(state, request.to, tier_of(policy, state, request.to, len(policy.tiers) - 1))


def _hold(state: EscalationState, responder: str, tier: str) -> None:
    """``responder`` holds the incident now; the record names them if nobody takes it after."""
    state.acknowledged_by = state.last_held_by = responder
    state.last_held_tier = tier


def cancel(
    state: EscalationState, policy: EscalationPolicy, request: actions.CancelRequest, now: datetime
) -> None:
    """A false alarm: closed through the close-out with outcome ``cancelled``."""
    _close(
        state, policy, Status.CANCELLED, request.responder, Resolution(summary=request.reason.strip()), now
    )


def _close(
    state: EscalationState,
    policy: EscalationPolicy,
    outcome: Status,
    by: str,
    resolution: Resolution,
    now: datetime,
) -> None:
    """Resolved or cancelled: the ladder stops and the close-out runs."""
    state.status, state.resolved_by, state.resolved_at = outcome, by, now
    state.next_deadline = None
    state.resolution = resolution
    kind = EventKind.RESOLVED if outcome is Status.RESOLVED else EventKind.CANCELLED
    _event(state, policy, now, kind, actor=by, note=resolution.summary)


def repeat_occurrence(
    state: EscalationState, policy: EscalationPolicy, request: OccurrenceRequest, now: datetime
) -> None:
    """The same incident was triggered again while open: count it, page nobody.

    Back-to-back repeats (a flapping alert) keep only the latest in the timeline, so the state
    stays small; ``occurrences`` keeps the count. A repeat at a more urgent severity raises it.
    """
    state.occurrences += 1
    if state.timeline[-1].kind is EventKind.REPEATED:
        state.timeline.pop()
    source = f" from {request.source}" if request.source else ""
    _event(state, policy, now, EventKind.REPEATED, note=f"occurrence {state.occurrences}{source}")
    if request.severity and more_urgent(request.severity, state.severity):
        actor, reason = request.source or "trigger", "triggered again at a more urgent severity"
        _rescale(state, policy, request.severity, now, actor=actor, reason=reason)


# --- read models ---------------------------------------------------------------------


def _read_model(model: type[M], state: EscalationState, **computed: object) -> M:
    """``model`` from the fields it shares by name with the state, plus those computed here."""
    shared = {
        name: getattr(state, name) for name in model.model_fields if name in EscalationState.model_fields
    }
    return model(**(shared | computed))


def _position(incident_id: str, policy: EscalationPolicy, state: EscalationState) -> dict[str, object]:
    """Where the escalation stands, in the words every read model uses."""
    paging = current_targets(policy, state) if state.status is Status.TRIGGERED else []
    return {"incident_id": incident_id, "tier_name": policy.tiers[state.step.tier].name, "paging": paging}


def view(incident_id: str, start: EscalationInput, state: EscalationState) -> StatusView:
    return _read_model(
        StatusView,
        state,
        **_position(incident_id, start.policy, state),
        phase=state.step.phase,
        round=state.step.round,
        policy=start.policy_ref,
        incident=start.incident,
    )


def summary(incident_id: str, start: EscalationInput, state: EscalationState) -> ActionResult:
    return _read_model(ActionResult, state, **_position(incident_id, start.policy, state))


def _seconds_between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


def record(incident_id: str, start: EscalationInput, state: EscalationState) -> EscalationRecord:
    return _read_model(
        EscalationRecord,
        state,
        incident_id=incident_id,
        incident=start.incident,
        policy=start.policy_ref,
        outcome=state.status,
        acknowledged_by=state.first_acknowledged_by,
        time_to_acknowledge_seconds=_seconds_between(state.triggered_at, state.acknowledged_at),
        time_to_resolve_seconds=_seconds_between(state.triggered_at, state.resolved_at),
    )
