"""The close-out record names the first acknowledgement and the last holder, each with its own tier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalation import ladder
from escalation.actions import AcknowledgeRequest, EscalateRequest, ReassignRequest, ResolveRequest
from escalation.state import EscalationRecord, EscalationState
from starter.cli import run
from tests.support import policy, sqlite_store, start_input

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
P = policy(resolve_deadline="1h")
START = start_input(P)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def acknowledged_by_ana_at_5() -> EscalationState:
    state = ladder.begin(START, T0)
    ladder.acknowledge(state, P, AcknowledgeRequest(responder="ana"), at(5))
    return state


def resolved(state: EscalationState, by: str) -> EscalationRecord:
    ladder.resolve(state, P, ResolveRequest(responder=by, summary="fixed"), at(40))
    return ladder.record("incident-1", START, state)


def first_acknowledgement(record: EscalationRecord) -> tuple[object, ...]:
    return (record.acknowledged_by, record.acknowledged_at, record.acknowledged_tier)


def test_after_escalate_now_the_record_still_names_who_acknowledged_first() -> None:
    state = acknowledged_by_ana_at_5()
    ladder.escalate_now(state, P, EscalateRequest(responder="ana", reason="needs a DBA"), at(10))
    assert state.acknowledged_by is None, "the next tier must acknowledge again"

    record = resolved(state, by="sofia")

    assert first_acknowledgement(record) == ("ana", at(5), "frontline")
    assert record.time_to_acknowledge_seconds == 5 * 60
    assert (record.last_held_by, record.last_held_tier) == ("ana", "frontline")


def test_after_escalate_now_and_a_new_acknowledgement_the_record_names_both() -> None:
    state = acknowledged_by_ana_at_5()
    ladder.escalate_now(state, P, EscalateRequest(responder="ana", reason="needs a DBA"), at(10))
    ladder.acknowledge(state, P, AcknowledgeRequest(responder="sofia"), at(12))

    record = resolved(state, by="sofia")

    assert first_acknowledgement(record) == ("ana", at(5), "frontline")
    assert (record.last_held_by, record.last_held_tier) == ("sofia", "supervisor")


def test_after_reassign_the_new_holder_is_credited_to_their_own_tier() -> None:
    state = acknowledged_by_ana_at_5()
    ladder.reassign(state, P, ReassignRequest(responder="ana", to="sam"), at(20))
    assert state.acknowledged_by == "sam"

    record = resolved(state, by="sam")

    assert first_acknowledgement(record) == ("ana", at(5), "frontline")
    assert (record.last_held_by, record.last_held_tier) == ("sam", "supervisor")


def test_an_unacknowledged_incident_has_no_acknowledgement_and_no_holder() -> None:
    record = resolved(ladder.begin(START, T0), by="sofia")
    assert first_acknowledgement(record) == (None, None, None)
    assert (record.last_held_by, record.last_held_tier) == (None, None)


def test_escalate_record_prints_the_first_acknowledgement_and_the_last_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = acknowledged_by_ana_at_5()
    ladder.reassign(state, P, ReassignRequest(responder="ana", to="sam"), at(20))
    sqlite_store(tmp_path / "records.db").save(resolved(state, by="sam"))
    monkeypatch.setenv("ESCALATION_DATABASE", str(tmp_path / "records.db"))

    assert run(["record", "incident-1"]) == 0

    out = capsys.readouterr().out
    assert "  acknowledged by ana at tier frontline\n  last held by sam at tier supervisor\n" in out
