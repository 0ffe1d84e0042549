"""The post-incident review of one escalation: reminders, the window, and the submission.

Started by the close-out when the policy requires a review; its id is the escalation's own
(``review_workflow_id``), not the incident's, so a new trigger for the incident opens a new
escalation at once while this review is pending. Reminders and the window are timers in this
workflow: they survive restarts and deploys, and no cron has to find the reviews that are due.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalation.learning import NoticeKind, Review, ReviewStatus
    from escalation.reviews import (
        REVIEW_QUERY,
        REVIEW_WORKFLOW,
        SET_REVIEW_ACTIVITY,
        SUBMIT_REVIEW_UPDATE,
        ReviewInput,
        ReviewSubmissionRequest,
        ReviewUpdate,
        refusal,
    )
    from escalation.state import NOTICE_ACTIVITY, NoticeRequest

NOTICE_LIMIT = timedelta(minutes=1)
NOTICE_RETRY = RetryPolicy(maximum_attempts=3)
"""A reminder that cannot be delivered is reported and given up: the review goes on without it."""
SAVE_LIMIT = timedelta(seconds=30)


@workflow.defn(name=REVIEW_WORKFLOW)
class ReviewWorkflow:
    @workflow.init
    def __init__(self, start: ReviewInput) -> None:
        self._start = start
        self._review = start.review
        self._saving = asyncio.Lock()

    @workflow.run
    async def run(self, start: ReviewInput) -> Review:
        closed_at = start.record.resolved_at or start.record.triggered_at
        for number, after in enumerate(start.rule.reminders, start=1):
            if not await self._pending_at(closed_at + after, f"review reminder {number}"):
                break
            await self._remind(number)
        if await self._pending_at(closed_at + start.rule.window, "review window"):
            self._review = self._review.model_copy(update={"status": ReviewStatus.SKIPPED})
            await self._save()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._review

    async def _pending_at(self, at: datetime, summary: str) -> bool:
        """Wait until ``at`` unless the review is submitted first; whether it is still pending."""
        wait = at - workflow.now()
        if wait > timedelta(0) and self._review.status is ReviewStatus.PENDING:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._review.status is not ReviewStatus.PENDING,
                    timeout=wait,
                    timeout_summary=summary,
                )
        return self._review.status is ReviewStatus.PENDING

    async def _remind(self, number: int) -> None:
        recipients = self._start.may_submit
        if not recipients:
            return
        request = NoticeRequest(
            kind=NoticeKind.REVIEW_REMINDER,
            idempotency_key=f"{workflow.info().workflow_id}:reminder:{number}",
            record=self._start.record.model_copy(update={"review": self._review}),
            recipients=recipients,
        )
        try:
            await workflow.execute_activity(
                NOTICE_ACTIVITY,
                request,
                start_to_close_timeout=NOTICE_LIMIT,
                retry_policy=NOTICE_RETRY,
                summary=f"review reminder {number} to {', '.join(recipients)}",
            )
        except ActivityError as error:
            workflow.logger.warning("review reminder %d not sent: %s", number, error.cause or error)
            return
        self._review = self._review.model_copy(update={"reminders_sent": self._review.reminders_sent + 1})
        await self._save()

    async def _save(self) -> None:
        """Write the review as it is now into the escalation's record; one write at a time, each
        taking the latest state, so the store ends with the last one."""
        async with self._saving:
            record = self._start.record
            update = ReviewUpdate(
                incident_id=record.incident_id, triggered_at=record.triggered_at, review=self._review
            )
            await workflow.execute_activity(
                SET_REVIEW_ACTIVITY,
                update,
                start_to_close_timeout=SAVE_LIMIT,
                summary=f"review {self._review.status.value}",
            )

    @workflow.update(name=SUBMIT_REVIEW_UPDATE)
    async def submit_review(self, request: ReviewSubmissionRequest) -> Review:
        self._review = self._review.model_copy(
            update={
                "status": ReviewStatus.COMPLETE,
                "submission": request.submission,
                "submitted_by": request.responder,
                "submitted_at": workflow.now(),
            }
        )
        await self._save()
        return self._review

    @submit_review.validator
    def _validate_submission(self, request: ReviewSubmissionRequest) -> None:
        if reason := refusal(self._start, self._review, request):
            raise ValueError(reason)

    @workflow.query(name=REVIEW_QUERY)
    def review(self) -> Review:
        return self._review
