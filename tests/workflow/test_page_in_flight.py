"""A slow page never holds back the next tier: when the ladder moves on, the new step is paged at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from escalation.models import Channel
from escalation.state import NOTIFY_ACTIVITY, Delivery, EventKind, NotifyRequest, NotifyResult, TimelineEvent
from tests.support import start_input
from tests.workflow.conftest import Ladder
from workflows.escalation import EscalationWorkflow

GENEROUS = 30  # seconds: turns a hang into a failure; nothing here waits for a timeout


class SlowFrontline:
    """A notify activity whose frontline page blocks until released; other tiers' pages return at once."""

    def __init__(self) -> None:
        self.frontline_paged = asyncio.Event()
        self.next_tier_paged = asyncio.Event()
        self.release = asyncio.Event()

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, request: NotifyRequest) -> NotifyResult:
        if request.tier_name == "frontline":
            self.frontline_paged.set()
            await self.release.wait()
        else:
            self.next_tier_paged.set()
        reached = [Delivery(responder=r, channel=Channel.CONSOLE, delivered=True) for r in request.targets]
        return NotifyResult(deliveries=reached)


@asynccontextmanager
async def paging_slowly(ladder: Ladder) -> AsyncIterator[tuple[SlowFrontline, WorkflowHandle]]:
    """An escalation whose frontline page is in flight; the page is released at the latest on exit."""
    slow, queue = SlowFrontline(), f"slow-{uuid.uuid4().hex[:8]}"
    async with Worker(ladder.client, task_queue=queue, workflows=[EscalationWorkflow],
                      activities=[slow.notify, ladder.close_out]):  # fmt: skip
        handle = await ladder.client.start_workflow(
            EscalationWorkflow.run, start_input(), id=f"incident-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        ladder.started.append(handle)
        try:
            await asyncio.wait_for(slow.frontline_paged.wait(), GENEROUS)
            yield slow, handle
        finally:
            slow.release.set()
            await ladder.terminate_open()


def pages(timeline: list[TimelineEvent]) -> list[tuple[str | None, list[str]]]:
    return [(e.tier_name, e.targets) for e in timeline if e.kind is EventKind.NOTIFIED]


async def test_escalate_now_during_a_slow_page_pages_the_next_tier_at_once(ladder: Ladder) -> None:
    async with paging_slowly(ladder) as (slow, handle):
        await ladder.api.act(handle.id, "escalate", {"responder": "ana", "reason": "needs a supervisor"})

        await asyncio.wait_for(slow.next_tier_paged.wait(), GENEROUS)
        await ladder.until(handle, lambda v: pages(v.timeline) == [("supervisor", ["sofia"])])
        slow.release.set()
        view = await ladder.until(handle, lambda v: len(pages(v.timeline)) == 2)

    assert pages(view.timeline) == [("supervisor", ["sofia"]), ("frontline", ["ana"])], (
        "the slow page's outcome is recorded against its own tier"
    )
    assert (view.tier_name, view.paging) == ("supervisor", ["sofia"])


async def test_a_resolve_after_the_ladder_moved_on_closes_out_once_the_slow_page_finished(
    ladder: Ladder,
) -> None:
    async with paging_slowly(ladder) as (slow, handle):
        await ladder.api.act(handle.id, "escalate", {"responder": "ana", "reason": "needs a supervisor"})
        await asyncio.wait_for(slow.next_tier_paged.wait(), GENEROUS)
        await ladder.api.act(handle.id, "resolve", {"responder": "sofia", "summary": "restarted the primary"})
        slow.release.set()
        record = await asyncio.wait_for(handle.result(), GENEROUS)

    assert ("frontline", ["ana"]) in pages(record.timeline), "the record says whom the slow page reached"
    assert ("supervisor", ["sofia"]) in pages(record.timeline)
