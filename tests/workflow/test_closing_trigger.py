"""A trigger that meets a closing escalation waits for that run only, not for the next one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.worker import Worker

from escalation.settings import Settings
from escalation.state import CLOSE_OUT_ACTIVITY, EscalationRecord
from starter import api as starter_api
from starter.api import Escalations
from tests.support import incident
from tests.workflow.conftest import Ladder
from workflows.escalation import EscalationWorkflow


async def test_a_waiting_trigger_joins_the_escalation_another_trigger_opened_first(
    ladder: Ladder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(starter_api, "CLOSING_WAIT", timedelta(minutes=10))
    release = asyncio.Event()

    @activity.defn(name=CLOSE_OUT_ACTIVITY)
    async def held_close_out(record: EscalationRecord) -> None:
        await release.wait()

    waiting, resume = asyncio.Event(), asyncio.Event()
    wait_closed = Escalations._wait_closed

    async def wait_closed_after_the_next_run_opened(self: Escalations, *args: object) -> None:
        waiting.set()
        await resume.wait()
        await wait_closed(self, *args)

    monkeypatch.setattr(Escalations, "_wait_closed", wait_closed_after_the_next_run_opened)
    queue = ladder.task_queue + "-flapping"
    api = Escalations(ladder.client, Settings(task_queue=queue), ladder.api.config)
    key = uuid.uuid4().hex[:8]
    async with Worker(ladder.client, task_queue=queue, workflows=[EscalationWorkflow],
                      activities=[ladder.notify, held_close_out]):  # fmt: skip
        first = await api.trigger(incident(key=key))
        closing = await ladder.client.get_workflow_handle(first.incident_id).describe()
        await api.act(first.incident_id, "resolve", {"responder": "ana", "summary": "fixed"})
        late = asyncio.create_task(api.trigger(incident(key=key)))
        await waiting.wait()
        release.set()
        await ladder.client.get_workflow_handle(first.incident_id, run_id=closing.run_id).result()
        next_run = await api.trigger(incident(key=key))
        ladder.started.append(ladder.client.get_workflow_handle(next_run.incident_id))
        resume.set()

        joined = await asyncio.wait_for(late, timeout=20)

    assert (next_run.deduplicated, next_run.occurrences) == (False, 1)
    assert (joined.incident_id, joined.deduplicated, joined.occurrences) == (first.incident_id, True, 2)
