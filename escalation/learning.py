"""What an escalation leaves behind for next time: the review of it and the knowledge it adds.

A review is owned by whoever resolved the escalation. It judges the escalation blamelessly:
escalating by the rules is never wrong, so the verdict asks whether the ladder *needed* to
climb as far as it did (and where it could have stopped), not whether anyone erred.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from escalation.models import Identifier, Severity, Strict

ReviewText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
MAX_REVIEW_ITEMS = 20


class Verdict(StrEnum):
    """Did the escalation need to climb as far as it did?"""

    NECESSARY = "necessary"
    UNNECESSARY = "unnecessary"
    PARTLY = "partly"


class ReviewStatus(StrEnum):
    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    COMPLETE = "complete"
    SKIPPED = "skipped"
    """The review window passed without a review: the record says so instead of staying pending."""


class ReviewSubmission(Strict):
    """What the owner submits: prevention, lessons, follow-ups and the verdict on the escalation.

    ``stop_at`` names the tier the escalation should have stopped at (for ``unnecessary`` and
    ``partly``: where an answer was enough).
    """

    verdict: Verdict
    stop_at: Identifier | None = None
    prevention: list[ReviewText] = Field(default=[], max_length=MAX_REVIEW_ITEMS)
    lessons: list[ReviewText] = Field(default=[], max_length=MAX_REVIEW_ITEMS)
    follow_ups: list[ReviewText] = Field(default=[], max_length=MAX_REVIEW_ITEMS)

    @model_validator(mode="after")
    def _something_learned(self) -> ReviewSubmission:
        if not (self.prevention or self.lessons or self.follow_ups):
            raise ValueError("a review needs at least one prevention action, lesson or follow-up")
        return self


class Review(Strict):
    """A review's state as the record store keeps it."""

    status: ReviewStatus
    owner: str | None = None
    due_at: datetime | None = None
    """When the window closes and a pending review becomes ``skipped``."""
    submission: ReviewSubmission | None = None
    submitted_by: str | None = None
    submitted_at: datetime | None = None
    reminders_sent: int = 0


class SimilarIncident(Strict):
    """A past incident like the new one, as the first page and the status show it."""

    incident_id: str
    service: str
    severity: Severity
    title: str
    triggered_at: datetime
    resolved_by: str | None = None
    root_cause: str = ""
    prevention: list[str] = Field(default=[])
    link: str = ""
    """Where to read more: the past escalation in the Temporal Web UI."""


class NoticeKind(StrEnum):
    CLOSED = "closed"
    """The escalation resolved or was cancelled: everyone it paged, and the reporter, hear how it ended."""
    REVIEW_REMINDER = "review_reminder"
    """The review owner's reminder while the review is pending."""


def review_workflow_id(incident_id: str, triggered_at: datetime) -> str:
    """The review's own workflow id: apart from the incident's, so a new trigger for the same
    incident opens a new escalation at once while this one's review is still pending."""
    return f"review:{incident_id}:{triggered_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"
