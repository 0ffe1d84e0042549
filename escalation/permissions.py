"""Who may do what to an escalation. Each check returns the reason for refusal, or None.

Only responders named in the incident's policy, and whom its ``schedule:<name>`` targets had
on call when a step was paged, act at all. Acknowledging is open to the targets of every tier
the ladder has reached, a schedule's being whoever it resolved to (a page to the frontline
stays answerable after the ladder moved on). Steering the incident (escalate, reassign, change
severity, resolve, cancel) belongs to whoever holds the acknowledgement and to the current and higher tiers.
Notes are open to everyone in the policy.

Update validators raise these reasons to the caller; signal handlers log them and ignore
the signal, so a bad fire-and-forget call never changes an escalation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import TYPE_CHECKING

from escalation.models import EscalationPolicy, schedule_name
from escalation.state import EscalationState, EventKind, OccurrenceRequest, Status

if TYPE_CHECKING:  # the requests live with the action table, which imports these rules
    from escalation import actions


def _since(state: EscalationState) -> str:
    """`` at 03:12 UTC``: when the holder took the incident (acknowledged, or was handed it)."""
    held = [e for e in state.timeline if e.kind in (EventKind.ACKNOWLEDGED, EventKind.REASSIGNED)]
    return f" at {held[-1].at.astimezone(UTC):%H:%M} UTC" if held else ""


def _tier_targets(state: EscalationState, policy: EscalationPolicy, tiers: range) -> list[str]:
    """The responders these tiers name, and whom their schedules had on call when paged."""
    return list(
        dict.fromkeys(
            person
            for i in tiers
            for person in (*policy.tiers[i].targets(), *state.on_call.get(i, []))
            if schedule_name(person) is None
        )
    )


def _everyone(state: EscalationState, policy: EscalationPolicy) -> list[str]:
    """Whoever may act at all: the policy's responders and its schedules' people paged so far."""
    return sorted(set(_tier_targets(state, policy, range(len(policy.tiers)))))


def _opener(state: EscalationState) -> list[str]:
    """The integration that opened the incident: its monitor may acknowledge and resolve it."""
    return [state.opened_by_integration] if state.opened_by_integration else []


def may_acknowledge(state: EscalationState, policy: EscalationPolicy) -> list[str]:
    """Targets of every tier up to the highest the ladder has paged, and the opening integration."""
    return _tier_targets(state, policy, range(max(state.step.tier, state.highest_tier) + 1)) + _opener(state)


def may_steer(state: EscalationState, policy: EscalationPolicy) -> list[str]:
    """The acknowledger, then everyone on the current tier and above."""
    holder = [state.acknowledged_by] if state.acknowledged_by else []
    steering = _tier_targets(state, policy, range(state.step.tier, len(policy.tiers)))
    return list(dict.fromkeys([*holder, *steering]))


def may_resolve(state: EscalationState, policy: EscalationPolicy) -> list[str]:
    """Those who steer, and the opening integration (its monitor saw the problem end)."""
    return may_steer(state, policy) + _opener(state)


def _who(
    responder: str, action: str, allowed: Iterable[str], state: EscalationState, policy: EscalationPolicy
) -> str | None:
    allowed = list(allowed)
    if responder in allowed:
        return None
    if responder not in _everyone(state, policy):
        paged = " nor on call for a step it paged" if policy.schedules() else ""
        return (
            f"responder {responder!r} is not a target of policy {policy.name!r}{paged}; "
            f"act as one of: {', '.join(_everyone(state, policy))}"
        )
    tier = policy.tiers[state.step.tier].name
    return f"{responder} may not {action} at tier {tier}; ask one of: {', '.join(allowed)}"


def _steer(state: EscalationState, policy: EscalationPolicy, responder: str, action: str) -> str | None:
    """Steering belongs to the holder and to the current and higher tiers."""
    return _who(responder, action, may_steer(state, policy), state, policy)


def _closed(state: EscalationState) -> str | None:
    if state.status in (Status.RESOLVED, Status.CANCELLED):
        return f"the incident is already {state.status.value} by {state.resolved_by}"
    return None


MAX_TEXT = 2000
"""Characters in a note, reason or summary: every one is kept in the escalation's state."""


def _too_long(text: str, field: str) -> str | None:
    if len(text) <= MAX_TEXT:
        return None
    return f"{field} is {len(text)} characters; keep it under {MAX_TEXT} and link to a document for more"


def _blank(text: str, field: str, flag: str) -> str | None:
    return _too_long(text, field) if text.strip() else f"{field} is empty: {flag}"


def acknowledge_refusal(
    state: EscalationState, policy: EscalationPolicy, request: actions.AcknowledgeRequest
) -> str | None:
    if closed := _closed(state):
        return f"{closed}; nothing to acknowledge"
    if state.status is Status.ACKNOWLEDGED:
        return (
            f"the incident is already acknowledged by {state.acknowledged_by}{_since(state)}; "
            "ask them to hand it over or resolve it"
        )
    return _too_long(request.note, "note") or _who(
        request.responder, "acknowledge", may_acknowledge(state, policy), state, policy
    )


def resolve_refusal(
    state: EscalationState, policy: EscalationPolicy, request: actions.ResolveRequest
) -> str | None:
    summary = _blank(request.summary, "summary", "say in a sentence what fixed it (--summary TEXT)")
    root_cause = _too_long(request.root_cause, "root cause")
    who = _who(request.responder, "resolve", may_resolve(state, policy), state, policy)
    return _closed(state) or summary or root_cause or who


def escalate_refusal(
    state: EscalationState, policy: EscalationPolicy, request: actions.EscalateRequest
) -> str | None:
    if closed := _closed(state):
        return closed
    if state.step.tier == len(policy.tiers) - 1:
        return (
            f"tier {policy.tiers[-1].name} is the last tier of policy {policy.name!r}; "
            "there is no higher tier to hand it to"
        )
    reason = _blank(request.reason, "reason", "say why it needs the next tier (--reason TEXT)")
    return (
        reason
        or _to_tier(state, policy, request.to_tier)
        or _steer(state, policy, request.responder, "escalate")
    )


def _to_tier(state: EscalationState, policy: EscalationPolicy, name: str | None) -> str | None:
    """Only a higher tier: escalating hands the incident up. Going back down would page again the
    people who already let it pass; a lower severity (``severity``) lengthens the waits instead."""
    names = [tier.name for tier in policy.tiers]
    if name is None:
        return None
    if name not in names:
        return f"to_tier {name!r} is not a tier of policy {policy.name!r}; use one of: {', '.join(names)}"
    if names.index(name) <= state.step.tier:
        higher = names[state.step.tier + 1 :]
        return (
            f"to_tier {name!r} is not above the current tier {names[state.step.tier]}; "
            f"hand it up to one of: {', '.join(higher)}"
        )
    return None


def note_refusal(
    state: EscalationState, policy: EscalationPolicy, request: actions.NoteRequest
) -> str | None:
    text = _blank(request.text, "note", "write what was tried or learned")
    everyone = _everyone(state, policy)
    return _closed(state) or text or _who(request.responder, "add notes", everyone, state, policy)


def severity_refusal(
    state: EscalationState, policy: EscalationPolicy, request: actions.SeverityRequest
) -> str | None:
    if closed := _closed(state):
        return closed
    if request.severity is state.severity:
        return f"the incident is already {state.severity.value}; pick another severity"
    reason = _blank(request.reason, "reason", "say why the severity changes (--reason TEXT)")
    return reason or _steer(state, policy, request.responder, "change the severity")


def reassign_refusal(
    state: EscalationState, policy: EscalationPolicy, request: actions.ReassignRequest
) -> str | None:
    if closed := _closed(state):
        return closed
    if state.status is not Status.ACKNOWLEDGED:
        return f"nobody holds the incident yet; ask {request.to} to acknowledge it instead"
    if request.to == state.acknowledged_by:
        return f"{request.to} already holds the incident"
    if request.to not in _everyone(state, policy):
        return (
            f"{request.to!r} is not a target of policy {policy.name!r}; "
            f"hand it to one of: {', '.join(_everyone(state, policy))}"
        )
    return _steer(state, policy, request.responder, "reassign")


def cancel_refusal(
    state: EscalationState, policy: EscalationPolicy, request: actions.CancelRequest
) -> str | None:
    reason = _blank(request.reason, "reason", "say why this is a false alarm (--reason TEXT)")
    return _closed(state) or reason or _steer(state, policy, request.responder, "cancel")


def occurrence_refusal(
    state: EscalationState, policy: EscalationPolicy, request: OccurrenceRequest
) -> str | None:
    """A trigger that arrives while the escalation is closing must open a new one instead."""
    if state.is_open:
        return None
    return f"the incident is {state.status.value} and closing; trigger again to open a new escalation"
