"""``escalate list`` queries: open statuses only ever match running escalations."""

from __future__ import annotations

from escalation.models import Severity
from escalation.state import Status
from starter.api import list_query


def test_open_escalations_by_default() -> None:
    assert list_query(None, None, None) == 'WorkflowType = "Escalation" AND ExecutionStatus = "Running"'


def test_an_open_status_excludes_runs_an_operator_terminated() -> None:
    assert list_query(Status.TRIGGERED, Severity.SEV1, "checkout") == (
        'WorkflowType = "Escalation" AND ExecutionStatus = "Running" AND EscalationStatus = "triggered"'
        ' AND EscalationSeverity = "SEV1" AND EscalationService = "checkout"'
    )


def test_a_closed_status_finds_finished_escalations() -> None:
    assert (
        list_query(Status.RESOLVED, None, None)
        == 'WorkflowType = "Escalation" AND EscalationStatus = "resolved"'
    )
