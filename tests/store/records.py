"""Close-out records as the ladder writes them, for the record-store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalation import ladder
from escalation.actions import AcknowledgeRequest, CancelRequest, ResolveRequest
from escalation.learning import Review, ReviewStatus, ReviewSubmission, Verdict
from escalation.models import Severity
from escalation.state import EscalationRecord
from tests.support import incident, policy, start_input

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def closed(
    key: str = "db-down",
    *,
    service: str = "payments",
    title: str = "Checkout database unreachable",
    summary: str = "",
    root_cause: str = "",
    at: datetime = T0,
    cancelled: bool = False,
    severity: Severity = Severity.SEV2,
) -> EscalationRecord:
    """An escalation acknowledged by ana after 5 minutes and resolved (or cancelled) by her at 40."""
    start = start_input(policy(), incident(severity, key, service=service, title=title, summary=summary))
    state = ladder.begin(start, at)
    ladder.acknowledge(state, start.policy, AcknowledgeRequest(responder="ana"), at + timedelta(minutes=5))
    end = at + timedelta(minutes=40)
    if cancelled:
        ladder.cancel(state, start.policy, CancelRequest(responder="ana", reason="false alarm"), end)
    else:
        ladder.resolve(
            state, start.policy, ResolveRequest(responder="ana", summary="fixed", root_cause=root_cause), end
        )
    return ladder.record(f"incident:{service}:{key}", start, state)


def pending(owner: str = "ana") -> Review:
    return Review(status=ReviewStatus.PENDING, owner=owner, due_at=T0 + timedelta(days=14))


def complete(*prevention: str) -> Review:
    submission = ReviewSubmission(verdict=Verdict.NECESSARY, prevention=list(prevention) or ["add an alert"])
    return Review(
        status=ReviewStatus.COMPLETE,
        owner="ana",
        due_at=T0 + timedelta(days=14),
        submission=submission,
        submitted_by="ana",
        submitted_at=T0 + timedelta(days=1),
        reminders_sent=1,
    )
