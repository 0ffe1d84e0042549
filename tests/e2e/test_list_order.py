"""On a real dev server, ``list`` dates an escalation by its trigger, also after continue-as-new."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from escalation.config import load_config
from escalation.settings import Settings
from escalation.state import EscalationInput
from starter import api as starter_api
from starter.api import Escalations, Listed
from starter.connection import ensure_search_attributes
from tests.support import binary, example_config, incident, sqlite_store
from worker import build_worker
from workflows import visibility

pytestmark = pytest.mark.e2e


class ShortHistory(EscalationInput):
    """Continues as new after a few dozen events instead of thousands."""

    history_limit: int = 60


@pytest.fixture(scope="module")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"), data_converter=pydantic_data_converter
    ) as env:
        await ensure_search_attributes(env.client)
        yield env


async def listed(api: Escalations, ids: list[str], older: str) -> list[Listed]:
    """Ours, once visibility shows the continued run of ``older`` (eventually consistent: bounded poll)."""
    for _ in range(100):
        found = {item.incident_id: item for item in await api.list(service="payments")}
        if set(ids) <= set(found) and found[older].started_at > found[ids[1 - ids.index(older)]].started_at:
            return [item for item in found.values() if item.incident_id in ids]
        await asyncio.sleep(0.2)
    raise AssertionError(f"visibility never showed the continued run of {older}")


async def test_a_continued_escalation_lists_with_its_trigger_time_after_a_newer_one(
    dev_server: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(starter_api, "EscalationInput", ShortHistory)
    client, queue = dev_server.client, f"list-{uuid.uuid4().hex[:8]}"
    config = load_config(example_config(tmp_path / "config"))
    api = Escalations(client, Settings(task_queue=queue), config)
    async with build_worker(client, queue, config, sqlite_store(tmp_path / "r.db")):
        older = await api.trigger(incident(key=f"older-{uuid.uuid4().hex[:6]}"))
        newer = await api.trigger(incident(key=f"newer-{uuid.uuid4().hex[:6]}"))
        for n in range(40):
            await api.act(older.incident_id, "note", {"responder": "ana", "text": f"note {n}"})
        handle = client.get_workflow_handle(older.incident_id)
        current = await handle.describe()
        assert current.run_id != handle.first_execution_run_id
        assert current.typed_search_attributes.get(visibility.TRIGGERED_AT), "carried over by Temporal"
        try:
            rows = await listed(api, [older.incident_id, newer.incident_id], older=older.incident_id)
        finally:
            for opened in (older, newer):
                await client.get_workflow_handle(opened.incident_id).terminate("test finished")

    assert [row.incident_id for row in rows] == [newer.incident_id, older.incident_id]
    continued, fresh = rows[1], rows[0]
    assert continued.triggered_at < fresh.triggered_at < continued.started_at
    assert continued.age_seconds > fresh.age_seconds
