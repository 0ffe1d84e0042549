"""A process that starts while Temporal is down waits for it instead of exiting."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from temporalio.testing import WorkflowEnvironment

from starter.connection import connect_with_retry
from tests.ports import free_port
from tests.support import EXAMPLE_CONFIG, binary

pytestmark = pytest.mark.e2e


async def until_logged(logs: list[dict[str, object]], event: str) -> None:
    while not any(entry["event"] == event for entry in logs):
        await asyncio.sleep(0.05)


async def test_connect_waits_for_a_server_that_appears_later() -> None:
    port = free_port()
    with capture_logs() as logs:
        connecting = asyncio.create_task(connect_with_retry(f"127.0.0.1:{port}"))
        await asyncio.wait_for(until_logged(logs, "temporal unreachable; retrying"), 30)
        assert not connecting.done(), "an unreachable server must not end the wait"
        async with await WorkflowEnvironment.start_local(
            port=port, dev_server_existing_path=binary("temporal")
        ):
            client = await asyncio.wait_for(connecting, 60)
            assert await client.service_client.check_health()
    retry = next(entry for entry in logs if entry["event"] == "temporal unreachable; retrying")
    assert retry["retry_in_seconds"] == 1
    assert "cannot reach Temporal" in str(retry["problem"])


def test_a_worker_started_before_temporal_waits_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "ESCALATION_CONFIG": str(EXAMPLE_CONFIG),
        "ESCALATION_DATA_DIR": str(tmp_path),
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen([sys.executable, "-m", "worker"], env=env, stderr=sink)
    try:
        deadline = time.monotonic() + 30
        while "temporal unreachable; retrying" not in log.read_text():
            assert worker.poll() is None, f"the worker gave up:\n{log.read_text()}"
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, log.read_text()
