"""A broken channel never stalls the ladder."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio import activity
from temporalio.worker import Worker

from escalation.models import Channel
from escalation.state import NOTIFY_ACTIVITY, Delivery, EventKind, NotifyRequest, NotifyResult, Phase, Status
from tests.support import policy, start_input
from tests.workflow.conftest import Ladder
from workflows.escalation import EscalationWorkflow


@activity.defn(name=NOTIFY_ACTIVITY)
async def broken_notify(request: NotifyRequest) -> NotifyResult:
    raise RuntimeError("paging provider unreachable")


async def test_failing_notifications_are_recorded_and_the_ladder_still_climbs(ladder: Ladder) -> None:
    queue = f"broken-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ladder.client,
        task_queue=queue,
        workflows=[EscalationWorkflow],
        activities=[broken_notify, ladder.close_out],
    ):
        handle = await ladder.client.start_workflow(
            EscalationWorkflow.run, start_input(), id=f"incident-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        ladder.started.append(handle)
        view = await ladder.skip_until(
            handle, lambda v: v.status is Status.EXHAUSTED, within=timedelta(hours=2)
        )

    failures = [e for e in view.timeline if e.kind is EventKind.NOTIFY_FAILED]
    assert [e.targets for e in failures] == [["ana"], ["ben"], ["sofia"], ["sam"], ["dba-kim", "net-lee"]]
    assert "paging provider unreachable" in failures[0].note


async def test_responder_missing_from_worker_roster_is_reported_per_target(ladder: Ladder) -> None:
    stranger = policy(
        severities={}, tiers=[{"name": "frontline", "primary": ["ana", "ghost"], "ack_timeout": "5m"}]
    )
    handle = await ladder.start(start_input(stranger))
    view = await ladder.until(handle, lambda v: any(e.kind is EventKind.NOTIFY_FAILED for e in v.timeline))

    reached = [e for e in view.timeline if e.kind is EventKind.NOTIFIED]
    failed = [e for e in view.timeline if e.kind is EventKind.NOTIFY_FAILED]
    assert [e.targets for e in reached] == [["ana"]]
    assert [e.targets for e in failed] == [["ghost"]]
    assert "not in the worker's roster" in failed[0].note


@activity.defn(name=NOTIFY_ACTIVITY)
async def delivers_then_hangs(request: NotifyRequest) -> NotifyResult:
    """The primary's page delivers one message, then hangs past its budget; the backup's is quick."""
    if request.phase is Phase.BACKUP:
        return NotifyResult(deliveries=[Delivery(responder="ben", channel=Channel.EMAIL, delivered=True)])
    activity.heartbeat([f"{request.idempotency_key}/email/ana"])
    await asyncio.sleep(5)  # the budget is 2 s: Temporal times the activity out first
    raise AssertionError("unreachable")


async def test_a_page_that_timed_out_after_reaching_someone_waits_for_them(ladder: Ladder) -> None:
    queue = f"hangs-{uuid.uuid4().hex[:8]}"
    fast = policy(severities={}, tiers=[{"name": "frontline", "primary": ["ana"], "backup": ["ben"],
                                         "ack_timeout": "4s"}])  # fmt: skip
    async with Worker(ladder.client, task_queue=queue, workflows=[EscalationWorkflow],
                      activities=[delivers_then_hangs, ladder.close_out]):  # fmt: skip
        handle = await ladder.client.start_workflow(
            EscalationWorkflow.run, start_input(fast), id=f"incident-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        ladder.started.append(handle)
        view = await ladder.until(handle, lambda v: any(e.kind is EventKind.NOTIFIED for e in v.timeline))

    [failed, *_] = [e for e in view.timeline if e.kind is EventKind.NOTIFY_FAILED]
    assert "after delivering 1 message(s)" in failed.note
    [timed_out] = [e for e in view.timeline if e.kind is EventKind.ACK_TIMEOUT]
    assert timed_out.note == "", "ana got the page, so her step waited out its timeout"
