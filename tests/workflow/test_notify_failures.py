"""A broken channel never stalls the ladder."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import activity
from temporalio.worker import Worker

from activities.close_out import CloseOut
from escalation.state import NOTIFY_ACTIVITY, EventKind, NotifyRequest, NotifyResult, Status
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
        activities=[broken_notify, CloseOut(ladder.store).close_out],
    ):
        handle = await ladder.client.start_workflow(
            EscalationWorkflow.run, start_input(), id=f"incident-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        ladder.started.append(handle)
        await ladder.env.sleep(timedelta(hours=2))
        view = await ladder.until(handle, lambda v: v.status is Status.EXHAUSTED)

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
