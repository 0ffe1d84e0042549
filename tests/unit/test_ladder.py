"""The ladder's pure rules: where it goes next, how long it waits, what the timeline says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalation import ladder
from escalation.actions import AcknowledgeRequest, NoteRequest, ResolveRequest
from escalation.models import Channel, EscalationPolicy, Severity
from escalation.state import Delivery, EscalationState, EventKind, NotifyResult, Phase, Status, Step
from tests.support import incident, policy, start_input

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
P, B = Phase.PRIMARY, Phase.BACKUP


def step(round_: int, tier: int, phase: Phase = P) -> Step:
    return Step(round=round_, tier=tier, phase=phase)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def no_backup_in_the_middle(repeat: int = 0) -> EscalationPolicy:
    """frontline (backup) -> oncall (no backup) -> management (backup)."""
    return policy(
        repeat=repeat,
        severities={},
        tiers=[
            {"name": "frontline", "primary": ["ana"], "backup": ["ben"], "ack_timeout": "5m"},
            {"name": "oncall", "primary": ["sofia"], "ack_timeout": "5m"},
            {"name": "management", "primary": ["mgr-mia"], "backup": ["exec-eve"], "ack_timeout": "5m"},
        ],
    )


def started(p: EscalationPolicy | None = None, severity: Severity = Severity.SEV2) -> EscalationState:
    return ladder.begin(start_input(p or policy(), incident(severity)), T0)


# --- decisions -------------------------------------------------------------------------


def test_first_step_starts_at_tier_zero_without_a_severity_rule() -> None:
    assert ladder.first_step(policy(), Severity.SEV2) == step(0, 0)


def test_first_step_starts_at_the_severity_start_tier() -> None:
    assert ladder.first_step(policy(), Severity.SEV1) == step(0, 1)
    assert ladder.start_tier(policy(), Severity.SEV1) == 1


def test_primary_times_out_to_its_backup() -> None:
    assert ladder.next_step(policy(), Severity.SEV2, step(0, 0)) == step(0, 0, B)


def test_primary_without_backup_times_out_to_next_tier() -> None:
    assert ladder.next_step(no_backup_in_the_middle(), Severity.SEV2, step(0, 1)) == step(0, 2)


def test_backup_times_out_to_next_tier_primary() -> None:
    assert ladder.next_step(policy(), Severity.SEV2, step(0, 0, B)) == step(0, 1)


def test_last_tier_starts_the_next_round_when_repeating() -> None:
    p = policy(repeat=2)
    assert ladder.next_step(p, Severity.SEV2, step(0, 2)) == step(1, 0)
    assert ladder.next_step(p, Severity.SEV2, step(1, 2)) == step(2, 0)


def test_next_round_restarts_at_the_severity_start_tier() -> None:
    assert ladder.next_step(policy(repeat=1), Severity.SEV1, step(0, 2)) == step(1, 1)


def test_repeat_rounds_restart_at_repeat_from_for_every_severity() -> None:
    p = policy(repeat=2, repeat_from="specialist")
    assert ladder.first_step(p, Severity.SEV2) == step(0, 0), "the first round starts as before"
    assert ladder.next_step(p, Severity.SEV2, step(0, 2)) == step(1, 2)
    assert ladder.next_step(p, Severity.SEV1, step(1, 2)) == step(2, 2)
    assert ladder.next_step(p, Severity.SEV2, step(2, 2)) is None


def test_a_policy_without_repeat_from_digests_as_before_the_key_existed() -> None:
    assert policy().digest() == "ba56cf033ee7", "the digest main had before repeat_from"
    assert policy(repeat_from="frontline").digest() != policy().digest()


def test_last_tier_backup_starts_the_next_round() -> None:
    p = no_backup_in_the_middle(repeat=1)
    assert ladder.next_step(p, Severity.SEV2, step(0, 2, B)) == step(1, 0)


def test_ladder_is_exhausted_after_the_last_round() -> None:
    assert ladder.next_step(policy(repeat=0), Severity.SEV2, step(0, 2)) is None
    assert ladder.next_step(policy(repeat=1), Severity.SEV2, step(1, 2)) is None
    assert ladder.next_step(no_backup_in_the_middle(), Severity.SEV2, step(0, 2, B)) is None


@pytest.mark.parametrize(
    ("severity", "minutes"),
    [
        (Severity.SEV2, 15 + 10 + 10 + 10),  # frontline and its backup, supervisor and its backup
        (Severity.SEV1, (10 + 10) / 2),  # starts at the supervisor, waits halved
    ],
)
def test_worst_case_to_the_last_tier_waits_out_every_step_before_it(
    severity: Severity, minutes: float
) -> None:
    assert ladder.worst_case_to_last_tier(policy(), severity) == timedelta(minutes=minutes)


def test_worst_case_summary_per_severity_only_when_the_waits_differ() -> None:
    assert ladder.worst_case_summary(policy()) == (
        "policy test: last tier specialist paged at worst after SEV1 10m, SEV2 45m, SEV3 45m, SEV4 45m"
    )
    assert ladder.worst_case_summary(no_backup_in_the_middle()) == (
        "policy test: last tier management paged at worst after 15m"
    )
    single = policy(tiers=[{"name": "only", "primary": ["ana"], "ack_timeout": "5m"}], severities={})
    assert ladder.worst_case_summary(single) == "policy test: last tier only paged at worst after 0s"


def test_targets_are_the_phase_responders() -> None:
    p = policy()
    assert ladder.targets(p, step(0, 0)) == ["ana"]
    assert ladder.targets(p, step(0, 0, B)) == ["ben"]
    assert ladder.targets(p, step(0, 2)) == ["dba-kim", "net-lee"]


@pytest.mark.parametrize(
    ("severity", "at_step", "expected"),
    [
        (Severity.SEV2, step(0, 0), timedelta(minutes=15)),
        (Severity.SEV2, step(0, 0, B), timedelta(minutes=10)),  # explicit backup_timeout
        (Severity.SEV2, step(0, 1, B), timedelta(minutes=10)),  # backup defaults to ack_timeout
        (Severity.SEV2, step(0, 2), timedelta(minutes=20)),
        (Severity.SEV1, step(0, 1), timedelta(minutes=5)),  # timeout_scale 0.5 halves
        (Severity.SEV1, step(0, 0), timedelta(minutes=7, seconds=30)),
        (Severity.SEV1, step(0, 0, B), timedelta(minutes=5)),
    ],
)
def test_wait_time(severity: Severity, at_step: Step, expected: timedelta) -> None:
    assert ladder.wait_time(policy(), severity, at_step) == expected


def test_wait_time_scales_up_for_low_severity() -> None:
    p = policy(severities={"SEV4": {"timeout_scale": 2}})
    assert ladder.wait_time(p, Severity.SEV4, step(0, 2)) == timedelta(minutes=40)


def test_scaled_wait_time_is_never_under_one_second() -> None:
    p = policy(
        tiers=[{"name": "fast", "primary": ["ana"], "ack_timeout": "1s"}],
        severities={"SEV1": {"timeout_scale": 0.1}},
    )
    assert ladder.wait_time(p, Severity.SEV1, step(0, 0)) == timedelta(seconds=1)


def test_idempotency_key_is_stable_per_page_and_distinct_between_pages() -> None:
    steps = [step(r, t, ph) for r in range(2) for t in range(3) for ph in (P, B)]
    keys = [ladder.idempotency_key("incident-1", "run-a", s, n) for n, s in enumerate(steps, 1)]
    assert keys == [
        ladder.idempotency_key("incident-1", "run-a", s.model_copy(), n) for n, s in enumerate(steps, 1)
    ]
    assert len(set(keys)) == len(keys)
    assert all(k.startswith("incident-1/run-a/") for k in keys)
    assert ladder.idempotency_key("incident-2", "run-a", steps[0], 1) != keys[0]
    assert ladder.idempotency_key("incident-1", "run-b", steps[0], 1) != keys[0], "a reopened incident"
    assert ladder.idempotency_key("incident-1", "run-a", steps[0], 9) != keys[0], "the same step paged again"


def test_each_page_of_the_ladder_gets_the_next_number() -> None:
    state = ladder.begin(start_input(), T0)
    assert [ladder.paging_until(state, T0 + timedelta(minutes=n)) for n in (1, 2, 3)] == [1, 2, 3]


# --- transitions -----------------------------------------------------------------------


def test_begin_records_the_trigger_at_the_first_step() -> None:
    state = started()
    assert state.status is Status.TRIGGERED
    assert state.step == step(0, 0)
    assert state.triggered_at == T0
    assert state.severity is Severity.SEV2
    [event] = state.timeline
    assert (event.kind, event.at, event.tier_name, event.phase) == (EventKind.TRIGGERED, T0, "frontline", P)
    assert event.note == "SEV2 on payments: Checkout database unreachable (policy test v7)"


def test_begin_for_sev1_starts_at_supervisor() -> None:
    state = started(severity=Severity.SEV1)
    assert state.step == step(0, 1)
    assert state.timeline[0].tier_name == "supervisor"


def test_time_out_pages_the_backup() -> None:
    p = policy()
    state = started(p)
    state.next_deadline = at(15)
    ladder.time_out(state, p, at(15))
    assert state.status is Status.TRIGGERED
    assert state.step == step(0, 0, B)
    assert state.next_deadline is None
    timeout, escalated = state.timeline[1:]
    assert (timeout.kind, timeout.tier_name, timeout.phase, timeout.targets) == (
        EventKind.ACK_TIMEOUT,
        "frontline",
        P,
        ["ana"],
    )
    assert (escalated.kind, escalated.tier_name, escalated.phase, escalated.targets) == (
        EventKind.ESCALATED,
        "frontline",
        B,
        ["ben"],
    )
    assert escalated.at == at(15)
    assert escalated.note == ""


def test_time_out_of_a_backup_escalates_to_the_next_tier() -> None:
    p = policy()
    state = started(p)
    ladder.time_out(state, p, at(15))
    ladder.time_out(state, p, at(25))
    assert state.step == step(0, 1)
    assert state.timeline[-2].targets == ["ben"]
    assert (state.timeline[-1].kind, state.timeline[-1].tier_name, state.timeline[-1].targets) == (
        EventKind.ESCALATED,
        "supervisor",
        ["sofia"],
    )


def test_time_out_into_a_new_round_notes_the_round() -> None:
    p = policy(repeat=1)
    state = started(p)
    state.step = step(0, 2)
    ladder.time_out(state, p, at(60))
    assert state.step == step(1, 0)
    assert state.timeline[-1].kind is EventKind.ESCALATED
    assert state.timeline[-1].note == "round 2"


def test_whole_ladder_without_acknowledgement_is_exhausted_but_open() -> None:
    p = policy()
    state = started(p)
    for minute in range(1, 6):  # frontline, frontline backup, supervisor, its backup, specialist
        assert state.status is Status.TRIGGERED
        ladder.time_out(state, p, at(minute))
    assert state.status is Status.EXHAUSTED
    assert state.is_open
    assert state.step == step(0, 2)  # stays on the last step paged
    assert state.timeline[-2].kind is EventKind.ACK_TIMEOUT
    assert state.timeline[-2].targets == ["dba-kim", "net-lee"]
    last = state.timeline[-1]
    assert (last.kind, last.tier_name) == (EventKind.EXHAUSTED, "specialist")
    assert "every tier was paged without an acknowledgement" in last.note


def test_acknowledge_records_who_when_and_at_which_tier() -> None:
    p = policy(resolve_deadline="4h")
    state = started(p)
    ladder.time_out(state, p, at(15))
    ladder.time_out(state, p, at(25))
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="sofia", note="on it"), at(27))
    assert state.status is Status.ACKNOWLEDGED
    assert (state.acknowledged_by, state.acknowledged_at, state.acknowledged_tier) == (
        "sofia",
        at(27),
        "supervisor",
    )
    assert state.next_deadline == at(27) + timedelta(hours=4)
    event = state.timeline[-1]
    assert (event.kind, event.actor, event.note, event.tier_name) == (
        EventKind.ACKNOWLEDGED,
        "sofia",
        "on it",
        "supervisor",
    )


def test_acknowledge_without_resolve_deadline_clears_the_deadline() -> None:
    p = policy()
    state = started(p)
    state.next_deadline = at(15)
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="ana"), at(3))
    assert state.next_deadline is None


def test_resolve_overdue_hands_the_incident_to_the_next_tier() -> None:
    p = policy(resolve_deadline="4h")
    state = started(p)
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="ana"), at(3))
    ladder.resolve_overdue(state, p, at(243))
    overdue, escalated = state.timeline[-2:]
    assert (overdue.kind, overdue.actor, overdue.tier_name) == (EventKind.RESOLVE_TIMEOUT, "ana", "frontline")
    assert overdue.note == "not resolved within 4h of acknowledgement"
    # the next tier, not this tier's backup
    assert state.step == step(0, 1)
    assert state.status is Status.TRIGGERED
    assert state.acknowledged_by is None
    assert state.next_deadline is None
    assert (escalated.kind, escalated.tier_name, escalated.targets) == (
        EventKind.ESCALATED,
        "supervisor",
        ["sofia"],
    )


def test_resolve_overdue_on_the_top_tier_pages_the_top_tier_again() -> None:
    p = policy(resolve_deadline="1h", repeat=1)
    state = started(p)
    state.step = step(0, 2)
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="net-lee"), at(50))
    ladder.resolve_overdue(state, p, at(110))
    assert (state.status, state.step, state.acknowledged_by) == (Status.TRIGGERED, step(0, 2), None)
    last = state.timeline[-1]
    assert (last.kind, last.targets, last.note) == (
        EventKind.ESCALATED,
        ["dba-kim", "net-lee"],
        "specialist is the top tier: paging it again",
    )


def test_resolve_deadline_scales_with_severity() -> None:
    p = policy(resolve_deadline="1h")
    state = started(p, Severity.SEV1)  # SEV1 halves every wait
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="sofia"), at(0))
    assert state.next_deadline == at(30)


def test_acknowledgement_is_credited_to_the_responders_own_tier() -> None:
    p = policy()
    state = started(p)
    state.step, state.highest_tier = step(0, 1), 1
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="ana"), at(20))
    assert state.acknowledged_tier == "frontline"


def test_time_to_acknowledge_counts_the_first_acknowledgement() -> None:
    p = policy(resolve_deadline="1h")
    state = started(p)
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="ana"), at(5))
    ladder.resolve_overdue(state, p, at(65))
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="sofia"), at(70))
    assert state.acknowledged_by == "sofia", "sofia holds it now"
    assert (state.first_acknowledged_by, state.acknowledged_at, state.acknowledged_tier) == (
        "ana",
        at(5),
        "frontline",
    )


def test_resolve_closes_the_incident() -> None:
    p = policy(resolve_deadline="4h")
    state = started(p)
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="ana"), at(5))
    request = ResolveRequest(responder="ana", summary="  failed over to replica ", root_cause=" disk full ")
    ladder.resolve(state, p, request, at(20))
    assert state.status is Status.RESOLVED
    assert not state.is_open
    assert (state.resolved_by, state.resolved_at, state.next_deadline) == ("ana", at(20), None)
    assert state.resolution is not None
    assert (state.resolution.summary, state.resolution.root_cause) == ("failed over to replica", "disk full")
    event = state.timeline[-1]
    assert (event.kind, event.actor, event.note) == (EventKind.RESOLVED, "ana", "failed over to replica")


def test_record_measures_time_to_acknowledge_and_resolve() -> None:
    p = policy()
    start = start_input(p)
    state = ladder.begin(start, T0)
    ladder.time_out(state, p, at(15))
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="ben"), at(17))
    ladder.resolve(state, p, ResolveRequest(responder="ben", summary="restarted"), at(47))
    rec = ladder.record("incident-9", start, state)
    assert rec.incident_id == "incident-9"
    assert rec.outcome is Status.RESOLVED
    assert rec.time_to_acknowledge_seconds == 17 * 60
    assert rec.time_to_resolve_seconds == 47 * 60
    assert (rec.acknowledged_by, rec.acknowledged_tier, rec.resolved_by) == ("ben", "frontline", "ben")
    assert (rec.policy.name, rec.policy.version, rec.policy.digest) == ("test", "7", p.digest())
    assert [e.kind for e in rec.timeline] == [
        EventKind.TRIGGERED,
        EventKind.ACK_TIMEOUT,
        EventKind.ESCALATED,
        EventKind.ACKNOWLEDGED,
        EventKind.RESOLVED,
    ]


def test_record_of_an_unanswered_incident_has_no_times() -> None:
    p = policy()
    start = start_input(p)
    state = ladder.begin(start, T0)
    rec = ladder.record("incident-9", start, state)
    assert rec.outcome is Status.TRIGGERED
    assert rec.time_to_acknowledge_seconds is None
    assert rec.time_to_resolve_seconds is None


def test_view_shows_who_is_being_paged_only_while_triggered() -> None:
    p = policy()
    start = start_input(p)
    state = ladder.begin(start, T0)
    ladder.time_out(state, p, at(15))
    shown = ladder.view("incident-1", start, state)
    assert (shown.tier_name, shown.phase, shown.round, shown.paging) == ("frontline", B, 0, ["ben"])
    ladder.acknowledge(state, p, AcknowledgeRequest(responder="ben"), at(16))
    assert ladder.view("incident-1", start, state).paging == []


def test_record_notified_splits_reached_and_failed() -> None:
    p = policy()
    state = started(p)
    result = NotifyResult(
        deliveries=[
            Delivery(responder="dba-kim", channel=Channel.CONSOLE, delivered=True),
            Delivery(responder="net-lee", channel=Channel.CONSOLE, delivered=False, detail="no phone"),
        ]
    )
    ladder.record_notified(state, p, step(0, 2), result, at(1))
    notified, failed = state.timeline[1:]
    assert notified.tier_name == failed.tier_name == "specialist", "labelled with the step paged"
    assert (notified.kind, notified.targets, notified.channel) == (
        EventKind.NOTIFIED,
        ["dba-kim"],
        Channel.CONSOLE,
    )
    assert (failed.kind, failed.targets, failed.note) == (
        EventKind.NOTIFY_FAILED,
        ["net-lee"],
        "net-lee: no phone",
    )


def test_a_very_long_timeline_keeps_its_start_and_latest_events_and_counts_the_rest() -> None:
    start = start_input()
    state = ladder.begin(start, T0)
    for n in range(ladder.MAX_TIMELINE + 100):
        ladder.add_note(state, start.policy, NoteRequest(responder="ana", text=f"note {n}"), T0)
    assert len(state.timeline) == ladder.MAX_TIMELINE
    assert state.timeline[0].kind is EventKind.TRIGGERED
    assert state.timeline[-1].note == f"note {ladder.MAX_TIMELINE + 99}"
    assert state.omitted_events == 101
    assert ladder.view("incident-x", start, state).omitted_events == 101
    assert ladder.record("incident-x", start, state).omitted_events == 101
