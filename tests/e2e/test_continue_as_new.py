"""On a real dev server, a long escalation continues as new and its ladder keeps climbing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from escalation.actions import NoteRequest
from escalation.config import load_config
from escalation.reports import headline, report_markdown
from escalation.state import EventKind, StatusView
from escalation.text import markdown_text
from starter.connection import ensure_search_attributes
from tests.support import EXAMPLE_CONFIG, binary, incident, policy, sqlite_store, start_input
from worker import build_worker
from workflows.escalation import EscalationWorkflow

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"), data_converter=pydantic_data_converter
    ) as env:
        await ensure_search_attributes(env.client)
        yield env


async def test_the_ladder_keeps_climbing_after_continue_as_new(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    client, queue = dev_server.client, f"can-{uuid.uuid4().hex[:8]}"
    fast = policy(severities={}, tiers=[{"name": "frontline", "primary": ["ana"], "backup": ["ben"],
                                         "ack_timeout": "6s", "backup_timeout": "2s"}])  # fmt: skip
    start = start_input(fast).model_copy(update={"history_limit": 60})
    async with build_worker(client, queue, load_config(EXAMPLE_CONFIG), sqlite_store(tmp_path / "r.db")):
        handle = await client.start_workflow(
            EscalationWorkflow.run, start, id=f"incident-{queue}", task_queue=queue
        )
        for n in range(40):
            await handle.execute_update("note", NoteRequest(responder="ana", text=f"note {n}"))
        assert (await handle.describe()).run_id != handle.first_execution_run_id

        view: StatusView | None = None
        for _ in range(100):  # the carried-over deadline fires in the new run: bounded poll
            view = await handle.query(EscalationWorkflow.status)
            if view.status.value == "exhausted":
                break
            await asyncio.sleep(0.2)
        assert view is not None and view.status.value == "exhausted"
        pages = [e.targets for e in view.timeline if e.kind is EventKind.NOTIFIED]
        assert pages == [["ana"], ["ben"]], "each step paged exactly once across runs"
        assert sum(e.kind is EventKind.NOTE for e in view.timeline) == 40
        await handle.terminate("test finished")


async def test_the_web_ui_still_shows_the_headline_and_report_after_continue_as_new(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    client, queue = dev_server.client, f"can-{uuid.uuid4().hex[:8]}"
    start = start_input().model_copy(update={"history_limit": 60})
    async with build_worker(client, queue, load_config(EXAMPLE_CONFIG), sqlite_store(tmp_path / "r.db")):
        handle = await client.start_workflow(
            EscalationWorkflow.run,
            start,
            id=f"incident-{queue}",
            task_queue=queue,
            static_summary=headline(incident()),  # as the starter sets them
            static_details=report_markdown(incident()),
        )
        for n in range(40):
            await handle.execute_update("note", NoteRequest(responder="ana", text=f"note {n}"))
        described = await handle.describe()
        assert described.run_id != handle.first_execution_run_id
        assert await described.static_summary() is None, "continue-as-new cannot carry it"

        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        await handle.terminate("test finished")

    assert markdown_text(headline(incident())) in metadata.current_details
    assert report_markdown(incident()) in metadata.current_details
    assert "**What happened:** connection refused" in metadata.current_details
