"""Who owns an escalation's review, who may submit it, and what the review workflow is told.

The close-out decides (``opening``); the review workflow then only keeps time and checks
submissions (``refusal``). Everything here is pure, so the rules are tested without Temporal.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, datetime

from escalation.learning import Review, ReviewStatus, ReviewSubmission
from escalation.models import ReviewRule, Strict
from escalation.state import EscalationRecord, EventKind

REVIEW_WORKFLOW = "Review"
SUBMIT_REVIEW_UPDATE = "submit_review"
REVIEW_QUERY = "review"
SET_REVIEW_ACTIVITY = "set_review"


class ReviewInput(Strict):
    """What a review workflow starts from: the closed escalation, its review (pending) and the
    rules that held when it closed."""

    record: EscalationRecord
    review: Review
    """The review as it opens; the workflow keeps the current one (``record.review`` is not read)."""
    rule: ReviewRule
    tiers: list[str]
    """The policy's tier names: what ``stop_at`` may name."""
    may_submit: list[str]
    """The owner alone, or (without an owner) everyone the escalation paged."""


class ReviewSubmissionRequest(Strict):
    """The ``submit_review`` update: who submits, and what."""

    responder: str
    submission: ReviewSubmission


class ReviewUpdate(Strict):
    """The ``set_review`` activity: the review of one escalation, as the record store keeps it."""

    incident_id: str
    triggered_at: datetime
    review: Review


def paged(record: EscalationRecord) -> list[str]:
    """Everyone the escalation paged, reached or not, in the order it paged them."""
    kinds = (EventKind.NOTIFIED, EventKind.NOTIFY_FAILED)
    return list(dict.fromkeys(t for event in record.timeline if event.kind in kinds for t in event.targets))


def owner(record: EscalationRecord, roster: Container[str]) -> str | None:
    """The resolver (or canceller) when a roster responder resolved it, else whoever held it last;
    None when neither is someone on the roster (an integration resolved an unacknowledged page)."""
    return next((who for who in (record.resolved_by, record.last_held_by) if who and who in roster), None)


def opening(
    record: EscalationRecord, rule: ReviewRule, tiers: list[str], roster: Container[str]
) -> tuple[EscalationRecord, ReviewInput | None]:
    """The record as the close-out saves it (its review ``pending`` or ``not_required``), and
    the review workflow's input when ``rule`` requires a review for the record's severity."""
    if not rule.required(record.severity):
        return record.model_copy(update={"review": Review(status=ReviewStatus.NOT_REQUIRED)}), None
    who = owner(record, roster)
    closed_at = record.resolved_at or record.triggered_at
    review = Review(status=ReviewStatus.PENDING, owner=who, due_at=closed_at + rule.window)
    return record.model_copy(update={"review": review}), ReviewInput(
        record=record, review=review, rule=rule, tiers=tiers, may_submit=[who] if who else paged(record)
    )


def refusal(start: ReviewInput, review: Review, request: ReviewSubmissionRequest) -> str | None:
    """Why this submission cannot be taken, in a sentence; None if it can."""
    incident_id = start.record.incident_id
    if reason := closed(incident_id, review):
        return reason
    if request.responder not in start.may_submit:
        if review.owner:
            return f"{request.responder} may not submit this review: it is {review.owner}'s"
        return (
            f"{request.responder} was not paged for {incident_id}; "
            f"one of {', '.join(start.may_submit) or 'nobody'} submits its review"
        )
    stop_at = request.submission.stop_at
    if stop_at is not None and stop_at not in start.tiers:
        return (
            f"stop_at {stop_at!r} is not a tier of policy {start.record.policy.name}; "
            f"use one of: {', '.join(start.tiers)}"
        )
    return None


def closed(incident_id: str, review: Review) -> str | None:
    """Why a review takes no more submissions (submitted, or its window passed); None while pending."""
    if review.status is ReviewStatus.COMPLETE:
        when = f" at {_minute(review.submitted_at)}" if review.submitted_at else ""
        return f"the review of {incident_id} was already submitted by {review.submitted_by}{when}"
    if review.status is not ReviewStatus.PENDING:
        when = f" at {_minute(review.due_at)}" if review.due_at else ""
        return f"the review window of {incident_id} closed{when}; the record says the review was skipped"
    return None


def _minute(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
