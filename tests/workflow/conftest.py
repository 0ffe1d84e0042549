"""A worker per test on the shared time-skipping server, with the example roster."""

from __future__ import annotations

import asyncio
import math
import os
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.action_links import ActionLinks
from activities.close_out import CloseOut
from activities.notify import Notifier
from activities.store import RecordStore
from escalation.config import Config, load_config
from escalation.learning import review_workflow_id
from escalation.settings import DEFAULT_UI_URL, Settings
from escalation.state import EscalationInput, EscalationRecord, StatusView
from starter.api import Escalations
from starter.drill import skip_time
from tests.support import example_config, policy, sqlite_store
from worker import build_worker
from workflows.escalation import EscalationWorkflow


@dataclass
class Ladder:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    store: RecordStore
    api: Escalations
    started: list[WorkflowHandle] = field(default_factory=list)

    @property
    def notify(self) -> Callable[..., object]:
        """The notify activity as the example configuration wires it, for hand-built workers."""
        return Notifier(self.api.config, os.environ, DEFAULT_UI_URL, self.client.namespace).notify

    async def start(self, start: EscalationInput) -> WorkflowHandle[EscalationWorkflow, object]:
        handle = await self.client.start_workflow(
            EscalationWorkflow.run, start, id=f"incident-{uuid.uuid4().hex[:10]}", task_queue=self.task_queue
        )
        self.started.append(handle)
        return handle

    @property
    def close_out(self) -> Callable[..., object]:
        """The close-out activity as ``build_worker`` wires it (reviews run on this ladder's queue)."""
        return CloseOut(self.store, self.api.config, self.client, self.task_queue).close_out

    async def terminate_open(self) -> None:
        """Open escalations left behind would hold the shared server's clock, and so would one
        terminated while an activity of it runs: time stops skipping for every later test.
        So let running activities finish (bounded), then terminate. A pending workflow task may
        be about to schedule one (a page for the step an action just moved to): wait for it too.
        The reviews the finished escalations opened are ended the same way."""
        for handle in self.started:
            await end(handle)
        for handle in self.started:
            if (await handle.describe()).status != WorkflowExecutionStatus.COMPLETED:
                continue
            finished = self.client.get_workflow_handle(handle.id, result_type=EscalationRecord)
            record = await finished.result()
            review_id = review_workflow_id(record.incident_id, record.triggered_at)
            await end(self.client.get_workflow_handle(review_id), cancel=True)

    async def status(self, handle: WorkflowHandle) -> StatusView:
        return await handle.query(EscalationWorkflow.status)

    async def until(self, handle: WorkflowHandle, check: Callable[[StatusView], bool]) -> StatusView:
        """Poll the query until the worker has processed what the test is waiting for.

        This waits for the worker, not for a timeout: escalation timeouts are skipped with
        ``env.sleep``.
        """
        for _ in range(200):
            view = await self.status(handle)
            if check(view):
                return view
            await asyncio.sleep(0.05)
        raise AssertionError(f"condition never held; last status: {view.model_dump_json(indent=1)}")

    async def skip_until(
        self, handle: WorkflowHandle, check: Callable[[StatusView], bool], within: timedelta
    ) -> StatusView:
        """Skip escalation time a slice at a time until ``check`` holds, at most ``within``.

        Under load, one long ``env.sleep`` has returned with a ladder of retried pages still
        steps short of the end and its clock no longer skipping; checking between slices
        skips time again for as long as the ladder needs. Timers still fire at their exact times.
        """
        slice_ = timedelta(minutes=5)
        for _ in range(math.ceil(within / slice_)):
            view = await self.status(handle)
            if check(view):
                return view
            await skip_time(self.env, slice_)
        return await self.until(handle, check)


async def settled(handle: WorkflowHandle) -> WorkflowExecutionStatus | None:
    """The workflow's status once no activity or workflow task of it is pending (bounded wait)."""
    for _ in range(600):  # a page to dead channels takes seconds: wait for it (bounded)
        description = await handle.describe()
        raw = description.raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            break
        await asyncio.sleep(0.05)
    return description.status


async def end(handle: WorkflowHandle, cancel: bool = False) -> None:
    """Terminate the workflow once settled, unless it has closed by then (or never started: a
    review the policy did not require). ``cancel``: cancel it instead and wait until it has
    closed, so its own timers are cancelled (a review's timers, days ahead, left behind by a
    terminated run stop the shared test server's clock from skipping)."""
    try:
        if await settled(handle) != WorkflowExecutionStatus.RUNNING:
            return
        if not cancel:
            await handle.terminate("test finished")
            return
        await handle.cancel()
        for _ in range(200):
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                return
            await asyncio.sleep(0.05)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise


def notified(view: StatusView) -> list[list[str]]:
    return [event.targets for event in view.timeline if event.kind == "notified"]


@asynccontextmanager
async def running_ladder(
    env: WorkflowEnvironment,
    config: Config,
    tmp_path: Path,
    worker_env: Mapping[str, str] | None = None,
    links: ActionLinks | None = None,
    store: RecordStore | None = None,
) -> AsyncIterator[Ladder]:
    """A worker on its own task queue with ``config`` (and ``store``, default a new SQLite file);
    open escalations are ended afterwards."""
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    records = tmp_path / f"records-{task_queue}.db"
    store = store or sqlite_store(records)
    api = Escalations(env.client, Settings(task_queue=task_queue, database=records), config)
    async with build_worker(env.client, task_queue, config, store, env=worker_env, links=links):
        ladder = Ladder(env, env.client, task_queue, store, api)
        yield ladder
        await ladder.terminate_open()


NO_REVIEW = policy(review={"required_for": []})


@pytest.fixture
async def ladder(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Ladder]:
    """The example configuration, plus ``tests.support.policy()`` requiring no review: the ladder's
    own tests close escalations of it often, and reviews (with their days-long reminder timers)
    have tests of their own on the example policies."""
    config = load_config(example_config(tmp_path / "config"))
    config.policies[NO_REVIEW.name] = NO_REVIEW
    async with running_ladder(time_skipping_env, config, tmp_path) as running:
        yield running
