"""Who may acknowledge or resolve, and the reason given when they may not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalation import ladder
from escalation.permissions import acknowledge_refusal, resolve_refusal
from escalation.state import AcknowledgeRequest, EscalationState, ResolveRequest
from tests.support import policy, start_input

T0 = datetime(2025, 3, 1, tzinfo=UTC)
POLICY = policy()


def triggered() -> EscalationState:
    return ladder.begin(start_input(POLICY), T0)


def acknowledged_by(responder: str) -> EscalationState:
    state = triggered()
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


@pytest.mark.parametrize("responder", ["ana", "ben", "sofia", "sam", "dba-kim", "net-lee"])
def test_any_target_of_the_policy_may_acknowledge(responder: str) -> None:
    assert acknowledge_refusal(POLICY, triggered(), AcknowledgeRequest(responder=responder)) is None


def test_a_stranger_may_not_acknowledge() -> None:
    reason = acknowledge_refusal(POLICY, triggered(), AcknowledgeRequest(responder="mallory"))
    assert reason == (
        "responder 'mallory' is not a target of policy 'test'; "
        "act as one of: ana, ben, dba-kim, net-lee, sam, sofia"
    )


def test_a_stranger_may_not_resolve() -> None:
    reason = resolve_refusal(POLICY, triggered(), ResolveRequest(responder="mallory", summary="fixed it"))
    assert reason is not None
    assert "responder 'mallory' is not a target of policy 'test'" in reason


def test_acknowledge_is_refused_once_acknowledged() -> None:
    reason = acknowledge_refusal(POLICY, acknowledged_by("ana"), AcknowledgeRequest(responder="ben"))
    assert reason is not None
    assert "already acknowledged by ana" in reason
    assert "hand it over or resolve it" in reason


def test_acknowledge_is_refused_once_resolved() -> None:
    reason = acknowledge_refusal(POLICY, resolved_by("sofia"), AcknowledgeRequest(responder="ana"))
    assert reason is not None
    assert "already resolved by sofia" in reason
    assert "nothing to acknowledge" in reason


def test_an_exhausted_ladder_may_still_be_acknowledged() -> None:
    state = exhausted()
    assert state.is_open
    assert acknowledge_refusal(POLICY, state, AcknowledgeRequest(responder="ana")) is None


def test_a_target_may_resolve_with_a_summary() -> None:
    request = ResolveRequest(responder="ben", summary="restarted the primary")
    assert resolve_refusal(POLICY, acknowledged_by("ana"), request) is None
    assert resolve_refusal(POLICY, triggered(), request) is None


def test_resolve_is_refused_once_resolved() -> None:
    reason = resolve_refusal(POLICY, resolved_by("sofia"), ResolveRequest(responder="ana", summary="again"))
    assert reason is not None
    assert "already resolved by sofia" in reason


@pytest.mark.parametrize("summary", ["", "   ", "\n\t"])
def test_resolve_is_refused_with_a_blank_summary(summary: str) -> None:
    reason = resolve_refusal(POLICY, acknowledged_by("ana"), ResolveRequest(responder="ana", summary=summary))
    assert reason is not None
    assert "summary is empty" in reason
    assert "--summary TEXT" in reason
