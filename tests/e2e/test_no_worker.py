"""With no worker on the task queue, the CLI says to start one: one line, exit 1, no traceback."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from tests.e2e.conftest import Product

pytestmark = pytest.mark.e2e


def test_trigger_and_ack_without_a_worker_say_to_start_one(product: Product) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    product = replace(
        product, env={**product.env, "ESCALATION_TASK_QUEUE": queue, "ESCALATION_WORKER_WAIT": "2s"}
    )
    key = uuid.uuid4().hex[:8]
    expected = (
        f"escalate: no worker answered within 2s; the request is kept and applies when a worker polls "
        f"task queue '{queue}' (start one with 'escalate up')\n"
    )

    triggered = product.cli("trigger", "--service", "checkout", "--severity", "SEV3", "--title", "Slow",
                            "--policy", "e2e", "--dedup-key", key)  # fmt: skip
    acknowledged = product.cli("ack", f"incident:checkout:{key}", "--as", "ana")

    for unanswered in (triggered, acknowledged):
        assert (unanswered.returncode, unanswered.stderr) == (1, expected)


def test_a_worker_wait_that_is_not_a_duration_is_refused(product: Product) -> None:
    product = replace(product, env={**product.env, "ESCALATION_WORKER_WAIT": "soon"})
    refused = product.cli("ack", "incident:checkout:any", "--as", "ana")
    assert refused.returncode == 2
    assert "ESCALATION_WORKER_WAIT: 'soon' is not a duration" in refused.stderr
    assert "Traceback" not in refused.stderr
