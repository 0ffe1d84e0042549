"""An integration may acknowledge and resolve the incidents it opened, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from escalation import ladder
from escalation.actions import AcknowledgeRequest, CancelRequest, EscalateRequest, ResolveRequest
from escalation.permissions import acknowledge_refusal, cancel_refusal, escalate_refusal, resolve_refusal
from escalation.state import EscalationState, Status
from tests.support import incident, policy, start_input

T0 = datetime(2025, 3, 1, tzinfo=UTC)
POLICY = policy()
OWN = "integration:checkout-alerts"


def opened_by(source: str) -> EscalationState:
    return ladder.begin(start_input(POLICY, incident(source=source)), T0)


def test_the_opening_integration_may_acknowledge_and_resolve() -> None:
    state = opened_by(OWN)
    ack = AcknowledgeRequest(responder=OWN)
    assert acknowledge_refusal(state, POLICY, ack) is None
    assert resolve_refusal(state, POLICY, ResolveRequest(responder=OWN, summary="alert resolved")) is None
    ladder.acknowledge(state, POLICY, ack, T0)
    assert state.status is Status.ACKNOWLEDGED and state.acknowledged_by == OWN


def test_another_integration_may_not() -> None:
    state = opened_by(OWN)
    other = "integration:other-alerts"
    refusal = acknowledge_refusal(state, POLICY, AcknowledgeRequest(responder=other))
    assert refusal is not None and "is not a target of policy" in refusal
    assert resolve_refusal(state, POLICY, ResolveRequest(responder=other, summary="x")) is not None


def test_an_incident_from_elsewhere_accepts_no_integration() -> None:
    state = opened_by("cli")
    assert acknowledge_refusal(state, POLICY, AcknowledgeRequest(responder="integration:cli")) is not None
    assert state.opened_by_integration is None


def test_the_integration_does_not_steer_an_incident_it_does_not_hold() -> None:
    state = opened_by(OWN)
    assert escalate_refusal(state, POLICY, EscalateRequest(responder=OWN, reason="x")) is not None
    assert cancel_refusal(state, POLICY, CancelRequest(responder=OWN, reason="x")) is not None
