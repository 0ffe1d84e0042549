"""The product as a user runs it: ``escalate up`` in its own process, the CLI in others."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port
from tests.support import binary, example_config

START_TIMEOUT_SECONDS = 90
FAST_POLICY = """
name: e2e
version: 3
tiers:
  - {name: frontline, primary: [ana], backup: [ben], ack_timeout: 2s, backup_timeout: 1s}
  - {name: supervisor, primary: [sofia], ack_timeout: 2s}
  - {name: specialist, primary: [dba-kim], ack_timeout: 2s}
"""


def pages_of(status: dict[str, Any]) -> list[tuple[str, list[str], str]]:
    """(tier, targets, channel) of each page in order; wait on these, not on ``tier_name``, which
    changes before the new tier's page is recorded."""
    notified = [event for event in status["timeline"] if event["kind"] == "notified"]
    return [(event["tier_name"], event["targets"], event["channel"]) for event in notified]


@dataclass
class Product:
    """A running ``escalate up`` and the environment its CLI calls need."""

    process: subprocess.Popen[bytes]
    output: Path
    env: dict[str, str]
    data_dir: Path
    api_url: str
    metrics_url: str
    """The worker's Prometheus metrics."""
    sdk_metrics_url: str
    """The worker's Temporal SDK metrics."""

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary("escalate"), *args], env=self.env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip

    def cli_json(self, *args: str) -> dict[str, Any]:
        result = self.cli(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def until_status(self, incident_id: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Poll ``escalate status --json`` while the real server's timers run (bounded)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = self.cli_json("status", incident_id)
            if check(status):
                return status
            time.sleep(0.5)
        raise AssertionError(f"status never matched; last: {json.dumps(status, indent=1)}")

    def until_record(self, incident_id: str) -> dict[str, Any]:
        """The close-out activity writes the record just after resolve returns."""
        deadline = time.monotonic() + 30
        while (result := self.cli("record", incident_id, "--json")).returncode != 0:
            assert time.monotonic() < deadline, result.stderr
            time.sleep(0.3)
        return json.loads(result.stdout)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


def start_product(tmp: Path, data_dir: Path, ports: tuple[int, int] | None = None) -> Product:
    """``escalate up`` on ``ports`` (gRPC, UI; default: free ones), once its worker and API are ready."""
    config = tmp / "config"
    if not config.exists():
        example_config(config)
        (config / "policies" / "e2e.yaml").write_text(FAST_POLICY)
    port, ui_port = ports or (free_port(), free_port())
    api_port, metrics_port, sdk_metrics_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "ESCALATION_CONFIG": str(config),
        "ESCALATION_DATA_DIR": str(data_dir),
        "ESCALATION_UI_URL": f"http://localhost:{ui_port}",
    }
    env.pop("TEMPORAL_ADDRESS", None)
    output = tmp / f"up-{port}.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [binary("escalate"), "up", "--port", str(port), "--ui-port", str(ui_port),
             "--api-port", str(api_port), "--metrics-port", str(metrics_port),
             "--sdk-metrics-port", str(sdk_metrics_port)],
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    ready = ("worker ready", f"Uvicorn running on http://127.0.0.1:{api_port}")
    while not all(sign in output.read_text() for sign in ready):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"escalate up did not get ready:\n{output.read_text()}")
        time.sleep(0.2)
    env["TEMPORAL_ADDRESS"] = f"127.0.0.1:{port}"
    return Product(
        process,
        output,
        env,
        data_dir,
        f"http://127.0.0.1:{api_port}",
        f"http://127.0.0.1:{metrics_port}/metrics",
        f"http://127.0.0.1:{sdk_metrics_port}/metrics",
    )


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    tmp = tmp_path_factory.mktemp("product")
    running = start_product(tmp, tmp / "data")
    yield running
    assert running.stop() == 0, "Ctrl-C must stop the worker and the server cleanly"
