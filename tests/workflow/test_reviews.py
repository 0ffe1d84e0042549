"""Post-incident reviews on the time-skipping server: reminders, the window, submissions, refusals."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.close_out import CloseOut
from activities.reviews import ReviewRecords
from escalation.learning import Review, ReviewStatus, ReviewSubmission, Verdict, review_workflow_id
from escalation.models import Channel, Severity
from escalation.reviews import ReviewSubmissionRequest
from escalation.state import NOTICE_ACTIVITY, Delivery, EscalationRecord, NoticeRequest, NotifyResult
from starter.api import Escalations, RefusedError, UnknownIncidentError
from starter.drill import skip_time
from tests.support import incident
from tests.workflow.conftest import Ladder, end, notified
from workflows.escalation import EscalationWorkflow
from workflows.review import ReviewWorkflow

LESSON = ReviewSubmission(verdict=Verdict.NECESSARY, prevention=["alert on replica lag before it fails over"])


@dataclass
class RecordedNotices:
    """The notice activity, recording what it was asked to send and when it was scheduled."""

    sent: list[tuple[NoticeRequest, datetime]] = field(default_factory=list)

    @activity.defn(name=NOTICE_ACTIVITY)
    async def send_notice(self, request: NoticeRequest) -> NotifyResult:
        self.sent.append((request, activity.info().scheduled_time))
        reached = [Delivery(responder=r, channel=Channel.CONSOLE, delivered=True) for r in request.recipients]
        return NotifyResult(deliveries=reached)


@dataclass
class Reviewing:
    ladder: Ladder
    api: Escalations
    notices: RecordedNotices
    reviews: list[WorkflowHandle] = field(default_factory=list)

    async def resolved(self, severity: Severity = Severity.SEV2, key: str | None = None) -> EscalationRecord:
        """An escalation acknowledged and resolved by ana, closed out."""
        opened = await self.api.trigger(incident(severity, key=key or uuid.uuid4().hex[:8]))
        handle = self.ladder.client.get_workflow_handle(opened.incident_id, result_type=EscalationRecord)
        self.ladder.started.append(handle)
        await self.ladder.until(handle, lambda view: len(notified(view)) == 1)
        await self.api.act(opened.incident_id, "acknowledge", {"responder": "ana"})
        await self.api.act(opened.incident_id, "resolve", {"responder": "ana", "summary": "failed over"})
        return await handle.result()

    def review_of(self, record: EscalationRecord) -> WorkflowHandle[ReviewWorkflow, Review]:
        review_id = review_workflow_id(record.incident_id, record.triggered_at)
        handle = self.ladder.client.get_workflow_handle_for(ReviewWorkflow.run, review_id)
        self.reviews.append(handle)
        return handle

    async def stored(self, record: EscalationRecord, check: Callable[[Review], bool]) -> Review:
        """The review in the record store once ``check`` holds (it is written by an activity)."""
        for _ in range(200):
            saved = self.ladder.store.latest(record.incident_id)
            if saved and saved.review and check(saved.review):
                return saved.review
            await asyncio.sleep(0.05)
        raise AssertionError(f"the stored review never matched; last: {saved.review if saved else None}")


@pytest.fixture
async def reviewing(ladder: Ladder) -> AsyncIterator[Reviewing]:
    """A worker with the review workflow and a recording notice activity, on its own task queue."""
    queue = f"reviews-{uuid.uuid4().hex[:8]}"
    notices = RecordedNotices()
    settings = ladder.api.settings.model_copy(update={"task_queue": queue})
    api = Escalations(ladder.client, settings, ladder.api.config)
    close_out = CloseOut(ladder.store, ladder.api.config, ladder.client, queue)
    async with Worker(
        ladder.client,
        task_queue=queue,
        workflows=[EscalationWorkflow, ReviewWorkflow],
        activities=[
            ladder.notify,
            close_out.close_out,
            ReviewRecords(ladder.store).set_review,
            notices.send_notice,
        ],
    ):
        running = Reviewing(ladder, api, notices)
        yield running
        await ladder.terminate_open()
        for review in running.reviews:
            await end(review)


async def until(check: Callable[[], bool]) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never held")


async def test_the_owner_is_reminded_after_one_day_and_after_three(reviewing: Reviewing) -> None:
    record = await reviewing.resolved()
    review = reviewing.review_of(record)
    pending = await reviewing.stored(record, lambda r: r.status is ReviewStatus.PENDING)
    assert pending.owner == "ana"
    assert record.resolved_at is not None and pending.due_at == record.resolved_at + timedelta(days=14)

    await skip_time(reviewing.ladder.env, timedelta(days=4))
    await until(lambda: len(reviewing.notices.sent) == 2)

    after = [scheduled - record.resolved_at for _, scheduled in reviewing.notices.sent]
    assert timedelta(days=1) <= after[0] < timedelta(days=1, minutes=1)
    assert timedelta(days=3) <= after[1] < timedelta(days=3, minutes=1)
    requests = [request for request, _ in reviewing.notices.sent]
    assert {request.kind for request in requests} == {"review_reminder"}
    assert [request.recipients for request in requests] == [["ana"], ["ana"]]
    assert len({request.idempotency_key for request in requests}) == 2
    assert requests[0].record.incident_id == record.incident_id
    assert requests[0].record.review and requests[0].record.review.status is ReviewStatus.PENDING
    await reviewing.stored(record, lambda r: r.reminders_sent == 2)
    assert (await review.query(ReviewWorkflow.review)).reminders_sent == 2


async def test_a_submitted_review_completes_the_record_and_stops_the_reminders(reviewing: Reviewing) -> None:
    record = await reviewing.resolved()
    review = reviewing.review_of(record)
    submission = ReviewSubmission(
        verdict=Verdict.PARTLY,
        stop_at="supervisor",
        prevention=["alert on replica lag"],
        lessons=["the runbook's failover step works"],
        follow_ups=["OPS-123"],
    )

    done = await reviewing.api.submit_review(
        record.incident_id, ReviewSubmissionRequest(responder="ana", submission=submission)
    )

    assert (done.status, done.submitted_by, done.submission) == (ReviewStatus.COMPLETE, "ana", submission)
    stored = await reviewing.stored(record, lambda r: r.status is ReviewStatus.COMPLETE)
    assert stored.submission == submission and stored.submitted_at is not None
    assert (await review.result()).status is ReviewStatus.COMPLETE
    assert reviewing.notices.sent == []


async def test_the_window_passing_without_a_review_records_it_skipped(reviewing: Reviewing) -> None:
    record = await reviewing.resolved()
    review = reviewing.review_of(record)

    await skip_time(reviewing.ladder.env, timedelta(days=15))
    ended = await review.result()

    assert ended.status is ReviewStatus.SKIPPED and ended.reminders_sent == 2
    stored = await reviewing.stored(record, lambda r: r.status is ReviewStatus.SKIPPED)
    assert stored.submission is None
    late = ReviewSubmissionRequest(responder="ana", submission=LESSON)
    with pytest.raises(UnknownIncidentError, match=r"no review pending .*skipped"):
        await reviewing.api.submit_review(record.incident_id, late)
    with pytest.raises(RefusedError, match=r"review window of .* closed at"):
        await reviewing.api.submit_review(record.incident_id, late, record.triggered_at)


async def test_a_new_trigger_during_a_pending_review_opens_a_new_escalation_at_once(
    reviewing: Reviewing,
) -> None:
    key = uuid.uuid4().hex[:8]
    record = await reviewing.resolved(key=key)
    review = reviewing.review_of(record)

    again = await reviewing.api.trigger(incident(Severity.SEV2, key=key))

    assert (again.incident_id, again.deduplicated, again.occurrences) == (record.incident_id, False, 1)
    handle = reviewing.ladder.client.get_workflow_handle(again.incident_id)
    view = await reviewing.ladder.until(handle, lambda v: len(notified(v)) == 1)
    assert view.status == "triggered" and view.triggered_at != record.triggered_at
    assert (await review.describe()).status == WorkflowExecutionStatus.RUNNING
    assert (await review.query(ReviewWorkflow.review)).status is ReviewStatus.PENDING


async def test_refusals_name_the_owner_the_tiers_and_the_earlier_submission(reviewing: Reviewing) -> None:
    record = await reviewing.resolved()
    reviewing.review_of(record)

    def by(responder: str, submission: ReviewSubmission = LESSON) -> ReviewSubmissionRequest:
        return ReviewSubmissionRequest(responder=responder, submission=submission)

    with pytest.raises(RefusedError, match="ben may not submit this review: it is ana's"):
        await reviewing.api.submit_review(record.incident_id, by("ben"))
    nowhere = LESSON.model_copy(update={"verdict": Verdict.UNNECESSARY, "stop_at": "nowhere"})
    with pytest.raises(RefusedError, match="'nowhere' is not a tier of policy support; use one of: front"):
        await reviewing.api.submit_review(record.incident_id, by("ana", nowhere))
    await reviewing.stored(record, lambda r: r.status is ReviewStatus.PENDING)

    await reviewing.api.submit_review(record.incident_id, by("ana"))
    with pytest.raises(RefusedError, match="already submitted by ana at"):
        await reviewing.api.submit_review(record.incident_id, by("ana"), record.triggered_at)
    with pytest.raises(UnknownIncidentError, match=r"no review pending .*complete"):
        await reviewing.api.submit_review(record.incident_id, by("ana"))


async def test_a_severity_the_policy_does_not_review_opens_no_review(reviewing: Reviewing) -> None:
    record = await reviewing.resolved(Severity.SEV3)

    stored = await reviewing.stored(record, lambda r: True)

    assert stored.status is ReviewStatus.NOT_REQUIRED
    with pytest.raises(RPCError):
        await reviewing.ladder.client.get_workflow_handle(
            review_workflow_id(record.incident_id, record.triggered_at)
        ).describe()
    by_ana = ReviewSubmissionRequest(responder="ana", submission=LESSON)
    with pytest.raises(UnknownIncidentError, match="no review pending"):
        await reviewing.api.submit_review(record.incident_id, by_ana)
