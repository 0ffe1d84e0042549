"""Monitoring tools nobody here wrote, against the HTTP API beside ``escalate up``: pdpyras
(the PagerDuty client library) and a real Prometheus Alertmanager."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from starter.web.tokens import SECRET_ENV
from tests.e2e.conftest import Product
from tests.ports import free_port
from tests.support import DEMO_ALERTS_KEY, installed

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # pdpyras announces its successor on import
    import pdpyras

pytestmark = pytest.mark.e2e

INTEGRATION = "demo-alerts"
ACTOR = f"integration:{INTEGRATION}"
ALERTMANAGER = "prometheus-alertmanager"
INSTALL_ALERTMANAGER = "apt-get install -y prometheus-alertmanager (Debian/Ubuntu)"


def until(what: str, check: Callable[[], Any], seconds: float = 60) -> Any:
    """Poll ``check`` until it returns something truthy (bounded: a hang becomes a failure)."""
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.3)
    return found


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Served:
    """``python -m starter.web`` beside the product's worker."""

    url: str
    product: Product

    def status(self, incident_id: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        return self.product.until_status(incident_id, check)


@pytest.fixture(scope="module")
def served(product: Product, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    env = product.env | {SECRET_ENV: "test-only-api-secret-of-at-least-32-bytes"}
    log = tmp_path_factory.mktemp("api") / "api.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "starter.web", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        until("the API answering /readyz", lambda: process.poll() is not None or answers(f"{url}/readyz"))
        assert process.poll() is None, log.read_text()
        yield Served(url, product)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_pdpyras_triggers_acknowledges_and_resolves(served: Served) -> None:
    session = pdpyras.EventsAPISession(DEMO_ALERTS_KEY)
    session.url = served.url
    dedup_key = session.trigger(
        "Checkout latency over 2 s", "lb-1", dedup_key="pdpyras-e2e", severity="error"
    )
    assert dedup_key == "pdpyras-e2e"
    incident_id = "incident:demo:pdpyras-e2e"
    opened = served.status(incident_id, lambda s: s["status"] == "triggered")
    assert opened["incident"]["title"] == "Checkout latency over 2 s" and opened["severity"] == "SEV2"

    session.acknowledge(dedup_key)
    acknowledged = served.status(incident_id, lambda s: s["status"] == "acknowledged")
    assert acknowledged["acknowledged_by"] == ACTOR

    session.resolve(dedup_key)
    assert served.status(incident_id, lambda s: s["status"] == "resolved")["resolved_by"] == ACTOR


def alertmanager_config(api_url: str) -> dict[str, Any]:
    """One route to a webhook receiver pointed at the integration, grouping fast."""
    return {
        "route": {
            "receiver": "escalations",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "escalations",
                "webhook_configs": [
                    {
                        "url": f"{api_url}/v1/integrations/{INTEGRATION}/alertmanager",
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": DEMO_ALERTS_KEY}},
                    }
                ],
            }
        ],
    }


@pytest.fixture
def alertmanager(served: Served, tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager on loopback, clustering off, sending to the API; its base URL."""
    binary = installed(ALERTMANAGER, INSTALL_ALERTMANAGER)
    config = tmp_path / "alertmanager.yml"
    config.write_text(json.dumps(alertmanager_config(served.url)))  # JSON is YAML
    port = free_port()
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        until("Alertmanager ready", lambda: process.poll() is not None or answers(f"{url}/-/ready"))
        assert process.poll() is None, log.read_text()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def alert(ends_at: datetime | None = None) -> list[dict[str, Any]]:
    fields: dict[str, Any] = {
        "labels": {"alertname": "DiskFullE2E", "severity": "critical", "instance": "db-1"},
        "annotations": {"summary": "disk full on db-1"},
        "generatorURL": "http://prometheus.example/graph",
    }
    if ends_at is not None:
        fields["endsAt"] = ends_at.isoformat()
    return [fields]


def test_alertmanager_opens_and_resolves_an_incident(served: Served, alertmanager: str) -> None:
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=alert()).status_code == 200
    listed = until(
        "the alert group's incident opening",
        lambda: [
            i
            for i in served.product.cli_json("list", "--service", "demo")
            if "DiskFullE2E" in i["incident_id"]
        ],
    )
    incident_id = listed[0]["incident_id"]
    opened = served.status(incident_id, lambda s: s["status"] == "triggered")
    assert opened["incident"]["title"] == "DiskFullE2E: disk full on db-1" and opened["severity"] == "SEV1"
    assert opened["incident"]["source"] == ACTOR

    ended = alert(ends_at=datetime.now(UTC) - timedelta(minutes=1))
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=ended).status_code == 200
    assert served.status(incident_id, lambda s: s["status"] == "resolved")["resolved_by"] == ACTOR
