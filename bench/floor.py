"""The floor: bare Temporal workflows doing the same shape of work as an escalation, and nothing more.

``BareLifecycle``: trigger (update-with-start) → one activity → acknowledge update → resolve update
→ one activity → done. ``BareTimers``: one activity → a timer to a deadline → one activity → a
long timer, as an escalation pages, waits, pages the backup and waits again.

    python -m bench.floor      # a worker for both on the floor's task queue (TEMPORAL_ADDRESS)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime, timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

FLOOR_QUEUE = "bench-floor"
ACTIVITY_LIMIT = timedelta(seconds=30)
HOLD = timedelta(days=1)


@activity.defn
async def page(target: str) -> str:
    """Stands for the notify and close-out activities: a round trip to a worker, no work."""
    return target


@workflow.defn
class BareLifecycle:
    def __init__(self) -> None:
        self._status = "triggered"

    @workflow.run
    async def run(self, incident: str) -> str:
        await workflow.execute_activity(page, incident, start_to_close_timeout=ACTIVITY_LIMIT)
        await workflow.wait_condition(lambda: self._status == "resolved")
        await workflow.execute_activity(page, incident, start_to_close_timeout=ACTIVITY_LIMIT)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status

    @workflow.update
    def trigger(self, source: str) -> str:
        return self._status

    @workflow.update
    def acknowledge(self, responder: str) -> str:
        self._status = "acknowledged"
        return self._status

    @workflow.update
    def resolve(self, responder: str) -> str:
        self._status = "resolved"
        return self._status


@workflow.defn
class BareTimers:
    def __init__(self) -> None:
        self._deadline: datetime | None = None
        self._paged_at: datetime | None = None

    @workflow.run
    async def run(self, due_seconds: int) -> None:
        self._deadline = workflow.now() + timedelta(seconds=due_seconds)
        await workflow.execute_activity(page, "primary", start_to_close_timeout=ACTIVITY_LIMIT)
        await workflow.sleep(self._deadline - workflow.now())
        await workflow.execute_activity(page, "backup", start_to_close_timeout=ACTIVITY_LIMIT)
        self._paged_at = workflow.now()
        await workflow.sleep(HOLD)

    @workflow.query
    def times(self) -> list[float | None]:
        """When the deadline fell due and when the next page was recorded (None: not yet), in epoch
        seconds, as an escalation's timeline tells them."""
        return [moment.timestamp() if moment else None for moment in (self._deadline, self._paged_at)]


async def main() -> None:
    client = await Client.connect(os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"))
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with Worker(
        client, task_queue=FLOOR_QUEUE, workflows=[BareLifecycle, BareTimers], activities=[page]
    ):
        print("worker ready", file=sys.stderr, flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
