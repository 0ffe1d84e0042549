"""``escalate up`` as shipped: no secrets exported, the API beside the worker, the printed ``curl``
opens an incident, and a responder answers it through the API with a token."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from starter.local_secrets import SECRETS_FILE
from tests.e2e.conftest import Product, pages_of, start_product
from tests.ports import free_port
from tests.support import DEMO_ALERTS_KEY_ENV, DEMO_WEBHOOK_SECRET_ENV, EXAMPLE_CONFIG, binary

pytestmark = pytest.mark.e2e

API_SECRET_ENV = "ESCALATION_API_SECRET"
GENERATED = (DEMO_WEBHOOK_SECRET_ENV, API_SECRET_ENV, DEMO_ALERTS_KEY_ENV)
CURL_PREFIX = "or as a monitoring tool would: "
UNREACHABLE_TEMPORAL = "127.0.0.1:9"  # nothing listens: a command that worked went through the API


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    """``escalate up`` on a fresh data directory, with none of the demo's secrets exported."""
    tmp = tmp_path_factory.mktemp("fresh")
    with pytest.MonkeyPatch.context() as patch:
        for name in GENERATED:
            patch.delenv(name, raising=False)
        running = start_product(tmp, tmp / "data")
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def demo_incident(fresh: Product) -> str:
    """The incident the ``curl`` line printed by ``escalate up`` opens, run as printed."""
    (line,) = [text for text in fresh.output.read_text().splitlines() if text.startswith(CURL_PREFIX)]
    answer = subprocess.run(["bash", "-c", line.removeprefix(CURL_PREFIX)], capture_output=True, text=True,
                            timeout=60, check=True)  # fmt: skip
    return f"incident:demo:{json.loads(answer.stdout)['dedup_key']}"


def as_responder(product: Product, token: str) -> dict[str, str]:
    """A responder's shell: the API and a token, and no way to reach Temporal."""
    return product.env | {
        "ESCALATION_API_URL": product.api_url,
        "ESCALATION_TOKEN": token,
        "TEMPORAL_ADDRESS": UNREACHABLE_TEMPORAL,
    }


def escalate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("escalate"), *args], env=env, capture_output=True, text=True, timeout=60)


def test_up_without_exported_secrets_generates_them_once_owner_only(fresh: Product) -> None:
    saved = fresh.data_dir / SECRETS_FILE
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in saved.read_text().splitlines())
    assert sorted(values) == sorted(GENERATED)
    assert all(len(value.encode()) >= 32 for value in values.values())
    assert all(value not in fresh.output.read_text() for value in values.values()), (
        "secrets are never printed"
    )
    assert f"HTTP API: {fresh.api_url}" in fresh.output.read_text()
    assert httpx.get(f"{fresh.api_url}/healthz").json() == {"status": "ok"}


def test_printed_curl_opens_an_escalation_that_climbs(fresh: Product, demo_incident: str) -> None:
    climbed = fresh.until_status(demo_incident, lambda s: len(pages_of(s)) >= 2)
    assert [targets for _, targets, _ in pages_of(climbed)][:2] == [["ana"], ["ben"]]
    assert climbed["policy"]["name"] == "demo"


def test_a_responder_acknowledges_through_the_api_with_a_token(fresh: Product, demo_incident: str) -> None:
    local = {name: value for name, value in fresh.env.items() if name != "TEMPORAL_ADDRESS"}
    issued = escalate(local, "token", "--as", "ana")
    assert issued.returncode == 0, issued.stderr
    ana = as_responder(fresh, issued.stdout.strip())

    impostor = escalate(ana, "ack", demo_incident, "--as", "sofia")
    assert impostor.returncode == 2
    assert impostor.stderr.strip() == (
        "escalate: --as sofia does not match ESCALATION_TOKEN, which is ana's token; "
        "omit --as, or use sofia's own token"
    )

    acked = escalate(ana, "ack", demo_incident, "--note", "looking")
    assert acked.returncode == 0, acked.stderr
    status = json.loads(escalate(ana, "status", demo_incident, "--json").stdout)
    assert (status["status"], status["acknowledged_by"]) == ("acknowledged", "ana")
    listed = json.loads(escalate(ana, "list", "--json").stdout)
    assert demo_incident in [item["incident_id"] for item in listed]

    again = escalate(ana, "ack", demo_incident, "--as", "ana")
    assert again.returncode == 1
    assert re.fullmatch(
        r"escalate: refused: the incident is already acknowledged by ana at \d\d:\d\d UTC; "
        r"ask them to hand it over or resolve it",
        again.stderr.strip(),
    )


def test_up_against_a_named_server_runs_the_api_which_waits_for_temporal(tmp_path: Path) -> None:
    api_port, metrics_port = free_port(), free_port()
    env = os.environ | {
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # not started yet: the worker and API wait
        "ESCALATION_CONFIG": str(EXAMPLE_CONFIG),
        "ESCALATION_DATA_DIR": str(tmp_path / "data"),
        API_SECRET_ENV: "test-only-api-secret-of-at-least-32-bytes",
    }
    output = tmp_path / "up.log"
    with output.open("wb") as sink:
        up = subprocess.Popen([binary("escalate"), "up", "--api-port", str(api_port), "--metrics-port",
                               str(metrics_port), "--sdk-metrics-port", "0"],
                              env=env, stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while f"Uvicorn running on http://127.0.0.1:{api_port}" not in output.read_text():
            assert up.poll() is None and time.monotonic() < deadline, output.read_text()
            time.sleep(0.2)
        api = f"http://127.0.0.1:{api_port}"
        assert httpx.get(f"{api}/healthz").json() == {"status": "ok"}
        waiting = httpx.get(f"{api}/readyz", timeout=30)
        assert waiting.status_code == 503, waiting.text
        assert not (tmp_path / "data" / SECRETS_FILE).exists(), (
            "secrets are generated for the embedded default only"
        )
        while not (scraped := _metrics(metrics_port)):  # the worker serves them while it waits, too
            assert up.poll() is None and time.monotonic() < deadline, output.read_text()
            time.sleep(0.2)
        assert "# TYPE escalation_pages_total counter" in scraped
    finally:
        up.send_signal(signal.SIGINT)
    assert up.wait(timeout=60) == 0, output.read_text()


def _metrics(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics").text
    except httpx.TransportError:
        return ""


def test_up_against_a_named_server_refuses_missing_secrets(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name not in GENERATED} | {
        "TEMPORAL_ADDRESS": "127.0.0.1:9",
        "ESCALATION_DATA_DIR": str(tmp_path),
    }
    refused = subprocess.run([binary("escalate"), "up"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert f"environment variable {DEMO_WEBHOOK_SECRET_ENV} is not set" in refused.stderr
    assert not (tmp_path / SECRETS_FILE).exists()
