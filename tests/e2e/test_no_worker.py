"""With no worker on the task queue, requests end in a sentence saying what to start.

On the product's dev server: on the shared time-skipping server, an update nobody answered
stalled time skipping for the tests after it.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from escalation.config import load_config
from escalation.settings import Settings
from starter.api import EscalationError, Escalations
from tests.e2e.conftest import Product
from tests.support import EXAMPLE_CONFIG, incident

pytestmark = pytest.mark.e2e


def no_worker(queue: str, wait: str) -> str:
    return (
        f"no worker answered within {wait}; the request is kept and applies when a worker polls "
        f"task queue '{queue}' (start one with 'escalate up')"
    )


async def test_the_api_says_to_start_a_worker_when_none_answers(product: Product) -> None:
    client = await Client.connect(product.env["TEMPORAL_ADDRESS"], data_converter=pydantic_data_converter)
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    settings = Settings(task_queue=queue, worker_wait=timedelta(seconds=1))
    api = Escalations(client, settings, load_config(EXAMPLE_CONFIG))
    unanswered = incident(key=uuid.uuid4().hex[:8])

    with pytest.raises(EscalationError) as triggered:
        await api.trigger(unanswered)
    with pytest.raises(EscalationError) as acknowledged:
        await api.act(f"incident:payments:{unanswered.dedup_key}", "acknowledge", {"responder": "ana"})

    assert str(triggered.value) == str(acknowledged.value) == no_worker(queue, "1s")


def test_the_cli_says_it_in_one_line_without_a_traceback(product: Product) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    product = replace(
        product, env={**product.env, "ESCALATION_TASK_QUEUE": queue, "ESCALATION_WORKER_WAIT": "2s"}
    )
    key = uuid.uuid4().hex[:8]

    triggered = product.cli("trigger", "--service", "checkout", "--severity", "SEV3", "--title", "Slow",
                            "--policy", "e2e", "--dedup-key", key)  # fmt: skip
    acknowledged = product.cli("ack", f"incident:checkout:{key}", "--as", "ana")

    for unanswered in (triggered, acknowledged):
        assert (unanswered.returncode, unanswered.stderr) == (1, f"escalate: {no_worker(queue, '2s')}\n")


def test_a_worker_wait_that_is_not_a_duration_is_refused(product: Product) -> None:
    product = replace(product, env={**product.env, "ESCALATION_WORKER_WAIT": "soon"})
    refused = product.cli("ack", "incident:checkout:any", "--as", "ana")
    assert refused.returncode == 2
    assert "ESCALATION_WORKER_WAIT: 'soon' is not a duration" in refused.stderr
    assert "Traceback" not in refused.stderr
