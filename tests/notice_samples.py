"""Records of finished escalations, as the close-out gets them, for the notice tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from escalation.learning import Review, ReviewStatus
from escalation.models import Channel, Incident, Severity
from escalation.state import EscalationRecord, EventKind, PolicyRef, Resolution, Status, TimelineEvent
from tests.support import incident

TRIGGERED_AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
CLOSED_AT = TRIGGERED_AT + timedelta(minutes=25)
REVIEW_DUE = CLOSED_AT + timedelta(days=14)


def pending_review(owner: str | None, due_at: datetime = REVIEW_DUE) -> Review:
    """A review waiting for ``owner`` (a signed link to it needs ``due_at`` in the future)."""
    return Review(status=ReviewStatus.PENDING, owner=owner, due_at=due_at)


def closed_record(
    hostile: Incident | None = None,
    *,
    pages: Sequence[tuple[str, Channel]] = (("ana", Channel.EMAIL),),
    failed: Sequence[tuple[str, Channel]] = (),
    outcome: Status = Status.RESOLVED,
    severity: Severity = Severity.SEV2,
    resolved_by: str = "ben",
    summary: str = "failed over to the replica",
    root_cause: str = "the primary's disk filled up",
    review: Review | None = None,
) -> EscalationRecord:
    """An escalation whose pages reached ``pages`` (and not ``failed``), closed by ``resolved_by``."""
    timeline = [
        TimelineEvent(at=TRIGGERED_AT, kind=kind, tier_name="frontline", targets=[who], channel=channel)
        for kind, sent in ((EventKind.NOTIFIED, pages), (EventKind.NOTIFY_FAILED, failed))
        for who, channel in sent
    ]
    closing = EventKind.RESOLVED if outcome is Status.RESOLVED else EventKind.CANCELLED
    timeline.append(TimelineEvent(at=CLOSED_AT, kind=closing, actor=resolved_by, note=summary))
    return EscalationRecord(
        incident_id=f"incident:payments:{(hostile or incident()).dedup_key}",
        incident=hostile or incident(),
        severity=severity,
        policy=PolicyRef(name="test", version="7", digest="0" * 64),
        outcome=outcome,
        triggered_at=TRIGGERED_AT,
        acknowledged_at=None,
        acknowledged_by=None,
        acknowledged_tier=None,
        resolved_at=CLOSED_AT,
        resolved_by=resolved_by,
        resolution=Resolution(summary=summary, root_cause=root_cause),
        time_to_acknowledge_seconds=None,
        time_to_resolve_seconds=(CLOSED_AT - TRIGGERED_AT).total_seconds(),
        timeline=timeline,
        review=review,
    )
