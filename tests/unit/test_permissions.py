"""Who may do what, and the reason given when they may not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from escalation import ladder
from escalation.actions import (
    AcknowledgeRequest,
    CancelRequest,
    EscalateRequest,
    NoteRequest,
    ReassignRequest,
    ResolveRequest,
    SeverityRequest,
)
from escalation.models import Severity
from escalation.permissions import (
    MAX_TEXT,
    acknowledge_refusal,
    cancel_refusal,
    escalate_refusal,
    may_acknowledge,
    may_steer,
    note_refusal,
    occurrence_refusal,
    reassign_refusal,
    resolve_refusal,
    severity_refusal,
)
from escalation.state import EscalationState, OccurrenceRequest
from tests.support import policy, start_input

T0 = datetime(2025, 3, 1, tzinfo=UTC)
POLICY = policy()  # frontline: ana / ben; supervisor: sofia / sam; specialist: dba-kim, net-lee


def triggered() -> EscalationState:
    return ladder.begin(start_input(POLICY), T0)


def at_supervisor() -> EscalationState:
    state = triggered()
    ladder.time_out(state, POLICY, T0)  # ben
    ladder.time_out(state, POLICY, T0)  # sofia
    return state


def acknowledged_by(responder: str, state: EscalationState | None = None) -> EscalationState:
    state = state or triggered()
    ladder.acknowledge(state, POLICY, AcknowledgeRequest(responder=responder), T0 + timedelta(minutes=2))
    return state


def resolved_by(responder: str) -> EscalationState:
    state = triggered()
    ladder.resolve(state, POLICY, ResolveRequest(responder=responder, summary="fixed"), T0)
    return state


def exhausted() -> EscalationState:
    state = triggered()
    for minute in range(5):
        ladder.time_out(state, POLICY, T0 + timedelta(minutes=minute))
    return state


# --- acknowledge: targets of the current tier and every tier reached before ------------


def test_acknowledge_is_open_to_the_tiers_reached_so_far() -> None:
    assert may_acknowledge(triggered(), POLICY) == ["ana", "ben"]
    assert may_acknowledge(at_supervisor(), POLICY) == ["ana", "ben", "sofia", "sam"]


def test_a_higher_tier_may_not_acknowledge_before_it_is_reached() -> None:
    reason = acknowledge_refusal(triggered(), POLICY, AcknowledgeRequest(responder="sofia"))
    assert reason == "sofia may not acknowledge at tier frontline; ask one of: ana, ben"


def test_an_earlier_tier_may_still_acknowledge() -> None:
    assert acknowledge_refusal(at_supervisor(), POLICY, AcknowledgeRequest(responder="ana")) is None


def test_a_stranger_may_not_acknowledge() -> None:
    reason = acknowledge_refusal(triggered(), POLICY, AcknowledgeRequest(responder="mallory"))
    assert reason == (
        "responder 'mallory' is not a target of policy 'test'; "
        "act as one of: ana, ben, dba-kim, net-lee, sam, sofia"
    )


def test_acknowledge_is_refused_once_acknowledged_and_names_the_holder() -> None:
    reason = acknowledge_refusal(acknowledged_by("ana"), POLICY, AcknowledgeRequest(responder="ben"))
    assert reason == (
        "the incident is already acknowledged by ana at 00:02 UTC; ask them to hand it over or resolve it"
    )


def test_acknowledge_is_refused_once_resolved() -> None:
    reason = acknowledge_refusal(resolved_by("ana"), POLICY, AcknowledgeRequest(responder="ben"))
    assert reason == "the incident is already resolved by ana; nothing to acknowledge"


def test_an_exhausted_ladder_may_be_acknowledged_by_anyone_it_paged() -> None:
    state = exhausted()
    assert state.is_open
    for responder in ("ana", "sam", "net-lee"):
        assert acknowledge_refusal(state, POLICY, AcknowledgeRequest(responder=responder)) is None


def test_after_a_new_round_the_tiers_of_the_first_round_may_still_acknowledge() -> None:
    twice = policy(repeat=1)
    state = ladder.begin(start_input(twice), T0)
    for _ in range(5):
        ladder.time_out(state, twice, T0)
    assert state.step.round == 1 and state.step.tier == 0
    assert acknowledge_refusal(state, twice, AcknowledgeRequest(responder="net-lee")) is None


# --- steering: the acknowledger, the current tier and the tiers above -------------------


def test_steering_belongs_to_the_holder_and_the_current_and_higher_tiers() -> None:
    state = acknowledged_by("ana", at_supervisor())
    assert may_steer(state, POLICY) == ["ana", "sofia", "sam", "dba-kim", "net-lee"]


@pytest.mark.parametrize(
    ("refusal", "request_", "verb"),
    [
        (resolve_refusal, ResolveRequest(responder="ben", summary="fixed"), "resolve"),
        (escalate_refusal, EscalateRequest(responder="ben", reason="too hard"), "escalate"),
        (cancel_refusal, CancelRequest(responder="ben", reason="noise"), "cancel"),
        (severity_refusal, SeverityRequest(responder="ben", severity=Severity.SEV1, reason="worse"),
         "change the severity"),
        (reassign_refusal, ReassignRequest(responder="ben", to="sam"), "reassign"),
    ],
)  # fmt: skip
def test_a_lower_tier_may_not_steer_and_is_told_who_may(refusal, request_, verb) -> None:
    state = acknowledged_by("sofia", at_supervisor())
    assert refusal(state, POLICY, request_) == (
        f"ben may not {verb} at tier supervisor; ask one of: sofia, sam, dba-kim, net-lee"
    )


def test_the_holder_may_steer_from_a_lower_tier() -> None:
    state = acknowledged_by("ana", at_supervisor())
    assert resolve_refusal(state, POLICY, ResolveRequest(responder="ana", summary="fixed")) is None
    assert escalate_refusal(state, POLICY, EscalateRequest(responder="ana", reason="needs dba")) is None


def test_a_stranger_may_not_resolve() -> None:
    reason = resolve_refusal(triggered(), POLICY, ResolveRequest(responder="mallory", summary="fixed it"))
    assert reason is not None and "responder 'mallory' is not a target of policy 'test'" in reason


@pytest.mark.parametrize("summary", ["", "   ", "\n\t"])
def test_resolve_is_refused_with_a_blank_summary(summary: str) -> None:
    reason = resolve_refusal(acknowledged_by("ana"), POLICY, ResolveRequest(responder="ana", summary=summary))
    assert reason == "summary is empty: say in a sentence what fixed it (--summary TEXT)"


def test_closed_incidents_refuse_every_action() -> None:
    state = resolved_by("ana")
    assert resolve_refusal(state, POLICY, ResolveRequest(responder="ana", summary="again")) == (
        "the incident is already resolved by ana"
    )
    assert escalate_refusal(state, POLICY, EscalateRequest(responder="ana", reason="x")) is not None
    assert note_refusal(state, POLICY, NoteRequest(responder="ana", text="x")) is not None
    assert cancel_refusal(state, POLICY, CancelRequest(responder="ana", reason="x")) is not None
    assert occurrence_refusal(state, POLICY, OccurrenceRequest(trigger_id="t2")) == (
        "the incident is resolved and closing; trigger again to open a new escalation"
    )


# --- action-specific rules --------------------------------------------------------------


def test_escalate_from_the_last_tier_is_refused() -> None:
    state = exhausted()
    reason = escalate_refusal(state, POLICY, EscalateRequest(responder="net-lee", reason="help"))
    assert (
        reason == "tier specialist is the last tier of policy 'test'; there is no higher tier to hand it to"
    )


def test_escalate_to_a_tier_names_a_higher_tier_of_the_policy() -> None:
    def refusal(state: EscalationState, to_tier: str) -> str | None:
        return escalate_refusal(
            state, POLICY, EscalateRequest(responder="sofia", reason="db", to_tier=to_tier)
        )

    assert refusal(triggered(), "specialist") is None, "the supervisor may hand the frontline's incident up"
    assert refusal(at_supervisor(), "specialist") is None
    assert refusal(at_supervisor(), "dba") == (
        "to_tier 'dba' is not a tier of policy 'test'; use one of: frontline, supervisor, specialist"
    )
    assert refusal(at_supervisor(), "frontline") == (
        "to_tier 'frontline' is not above the current tier supervisor; hand it up to one of: specialist"
    )
    assert refusal(at_supervisor(), "supervisor") == (
        "to_tier 'supervisor' is not above the current tier supervisor; hand it up to one of: specialist"
    )


def test_escalate_needs_a_reason() -> None:
    reason = escalate_refusal(triggered(), POLICY, EscalateRequest(responder="ana", reason=" "))
    assert reason == "reason is empty: say why it needs the next tier (--reason TEXT)"


def test_anyone_in_the_policy_may_add_a_note_but_not_an_empty_one() -> None:
    assert note_refusal(triggered(), POLICY, NoteRequest(responder="net-lee", text="db looks fine")) is None
    assert note_refusal(triggered(), POLICY, NoteRequest(responder="ana", text="")) == (
        "note is empty: write what was tried or learned"
    )
    assert "not a target" in (
        note_refusal(triggered(), POLICY, NoteRequest(responder="eve", text="hi")) or ""
    )


def test_severity_must_change() -> None:
    reason = severity_refusal(
        triggered(), POLICY, SeverityRequest(responder="ana", severity=Severity.SEV2, reason="same")
    )
    assert reason == "the incident is already SEV2; pick another severity"


def test_reassign_needs_an_acknowledged_incident_and_a_new_holder_in_the_policy() -> None:
    assert reassign_refusal(triggered(), POLICY, ReassignRequest(responder="ana", to="ben")) == (
        "nobody holds the incident yet; ask ben to acknowledge it instead"
    )
    held = acknowledged_by("ana")
    assert reassign_refusal(held, POLICY, ReassignRequest(responder="ana", to="ana")) == (
        "ana already holds the incident"
    )
    assert "'zed' is not a target of policy 'test'" in (
        reassign_refusal(held, POLICY, ReassignRequest(responder="ana", to="zed")) or ""
    )
    assert reassign_refusal(held, POLICY, ReassignRequest(responder="ana", to="sofia")) is None


def test_cancel_needs_a_reason() -> None:
    reason = cancel_refusal(triggered(), POLICY, CancelRequest(responder="ana", reason=""))
    assert reason == "reason is empty: say why this is a false alarm (--reason TEXT)"


def test_a_trigger_for_an_open_incident_is_accepted() -> None:
    assert occurrence_refusal(triggered(), POLICY, OccurrenceRequest(trigger_id="t2")) is None


def _note(text: str) -> str | None:
    return note_refusal(triggered(), POLICY, NoteRequest(responder="ana", text=text))


def _ack_note(text: str) -> str | None:
    return acknowledge_refusal(triggered(), POLICY, AcknowledgeRequest(responder="ana", note=text))


def _root_cause(text: str) -> str | None:
    request = ResolveRequest(responder="ana", summary="ok", root_cause=text)
    return resolve_refusal(acknowledged_by("ana"), POLICY, request)


def _cancel_reason(text: str) -> str | None:
    return cancel_refusal(acknowledged_by("ana"), POLICY, CancelRequest(responder="ana", reason=text))


@pytest.mark.parametrize(
    ("refusal", "field"),
    [(_note, "note"), (_ack_note, "note"), (_root_cause, "root cause"), (_cancel_reason, "reason")],
)
def test_text_kept_in_the_state_is_bounded(refusal: Callable[[str], str | None], field: str) -> None:
    assert refusal("x" * MAX_TEXT) is None
    assert refusal("x" * (MAX_TEXT + 1)) == (
        f"{field} is {MAX_TEXT + 1} characters; keep it under {MAX_TEXT} and link to a document for more"
    )
