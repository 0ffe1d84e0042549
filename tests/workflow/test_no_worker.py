"""Without a worker on the task queue, requests end in a sentence saying what to start."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from escalation.config import load_config
from escalation.settings import Settings
from starter.api import EscalationError, Escalations
from tests.support import EXAMPLE_CONFIG, incident

NO_WORKER = "no worker answered within 1s; the request is kept and applies when a worker polls task queue"


async def test_trigger_and_acknowledge_without_a_worker_say_to_start_one(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    settings = Settings(task_queue=queue, worker_wait=timedelta(seconds=1))
    api = Escalations(time_skipping_env.client, settings, load_config(EXAMPLE_CONFIG))
    unanswered = incident(key=uuid.uuid4().hex[:8])
    try:
        with pytest.raises(EscalationError) as triggered:
            await api.trigger(unanswered)
        with pytest.raises(EscalationError) as acknowledged:
            await api.acknowledge(f"incident:payments:{unanswered.dedup_key}", "ana")
    finally:
        await time_skipping_env.client.get_workflow_handle(
            f"incident:payments:{unanswered.dedup_key}"
        ).terminate()

    for refused in (triggered.value, acknowledged.value):
        assert str(refused) == f"{NO_WORKER} {queue!r} (start one with 'escalate up')"
