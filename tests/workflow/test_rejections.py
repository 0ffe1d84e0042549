"""Every refused responder action: a clear reason, and nothing entered into history."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from escalation.state import CLOSE_OUT_ACTIVITY, EscalationRecord, Status
from starter.api import EscalationError
from tests.support import start_input
from tests.workflow.conftest import Ladder, notified
from workflows.escalation import EscalationWorkflow


async def accepted_updates(handle: WorkflowHandle) -> int:
    history = await handle.fetch_history()
    return sum(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in history.events
    )


async def test_stranger_cannot_acknowledge_or_resolve(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)

    with pytest.raises(
        EscalationError, match=r"'mallory' is not a target of policy 'test'; act as one of: ana"
    ):
        await ladder.api.act(handle.id, "acknowledge", {"responder": "mallory"})
    with pytest.raises(EscalationError, match="'mallory' is not a target"):
        await ladder.api.act(handle.id, "resolve", {"responder": "mallory", "summary": "fixed"})

    assert (await ladder.status(handle)).status is Status.TRIGGERED
    assert await accepted_updates(handle) == 0


async def test_empty_resolution_summary_is_refused(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    with pytest.raises(EscalationError, match=r"summary is empty: say in a sentence what fixed it"):
        await ladder.api.act(handle.id, "resolve", {"responder": "ana", "summary": "   "})
    assert await accepted_updates(handle) == 0


async def test_second_acknowledgement_names_the_holder(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.api.act(handle.id, "acknowledge", {"responder": "ana"})
    with pytest.raises(EscalationError, match="already acknowledged by ana"):
        await ladder.api.act(handle.id, "acknowledge", {"responder": "ben"})
    assert await accepted_updates(handle) == 1


async def test_resolved_incident_refuses_acknowledge_and_resolve(ladder: Ladder) -> None:
    """While its close-out runs, a resolved escalation still answers, and refuses."""
    release = asyncio.Event()

    @activity.defn(name=CLOSE_OUT_ACTIVITY)
    async def held_close_out(record: EscalationRecord) -> None:
        await release.wait()

    queue = f"held-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ladder.client,
        task_queue=queue,
        workflows=[EscalationWorkflow],
        activities=[ladder.notify, held_close_out],
    ):
        handle = await ladder.client.start_workflow(
            EscalationWorkflow.run, start_input(), id=f"incident-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        ladder.started.append(handle)
        await ladder.api.act(
            handle.id, "resolve", {"responder": "ana", "summary": "false positive from a canary"}
        )

        with pytest.raises(EscalationError, match="already resolved by ana; nothing to acknowledge"):
            await ladder.api.act(handle.id, "acknowledge", {"responder": "ben"})
        with pytest.raises(EscalationError, match="already resolved by ana"):
            await ladder.api.act(handle.id, "resolve", {"responder": "ben", "summary": "again"})
        assert await accepted_updates(handle) == 1

        release.set()
        await handle.result()

    with pytest.raises(EscalationError, match=f"incident {handle.id} is completed and takes no more actions"):
        await ladder.api.act(handle.id, "acknowledge", {"responder": "ana"})


async def test_unknown_incident_is_named(ladder: Ladder) -> None:
    with pytest.raises(EscalationError, match="no incident 'incident-nope'"):
        await ladder.api.status("incident-nope")
    with pytest.raises(EscalationError, match="no incident 'incident-nope'"):
        await ladder.api.act("incident-nope", "acknowledge", {"responder": "ana"})
