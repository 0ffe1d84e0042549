"""``escalate up`` serves Prometheus metrics from the worker, the API and the Temporal SDK; they move
with a real escalation (ingested, paged, acknowledged, resolved), and a real Prometheus scraping
them answers every query of the Grafana dashboard."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Product, pages_of
from tests.ports import free_port
from tests.scrape import Samples, samples
from tests.support import DEMO_ALERTS_KEY, REPO, installed

pytestmark = pytest.mark.e2e

DASHBOARD = REPO / "deploy" / "grafana" / "escalation-orchestrator.json"
SDK_METRIC = re.compile(r"\btemporal_[a-z0-9_]+")
ON_FAILURE_ONLY = re.compile(r"_fail(ure|ed)\b")
"""SDK counters that only appear once something failed (a poll, a request, a task)."""
INSTALL_PROMETHEUS = "apt-get install -y prometheus (Debian/Ubuntu)"
GRAFANA_WINDOWS = {"$__rate_interval": "1m", "$__range": "1h"}
"""What Grafana puts in place of its interval variables (any window holding a few scrapes)."""


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return samples(response.text)


def value(scraped: Samples, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        target["expr"]
        for row in dashboard["panels"]
        for panel in (row, *row.get("panels", []))
        for target in panel.get("targets", [])
    ]


def until(what: str, check: Callable[[], Any], seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.5)
    return found


@pytest.fixture(scope="module")
def resolved(product: Product) -> str:
    """An incident opened through the API, acknowledged and resolved with the CLI; its id."""
    dedup_key = f"metrics-{uuid.uuid4().hex[:8]}"
    event = {
        "routing_key": DEMO_ALERTS_KEY,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": "Disk full on demo-db-1", "source": "demo-db-1", "severity": "error"},
    }
    assert httpx.post(f"{product.api_url}/v2/enqueue", json=event, timeout=30).status_code == 202
    incident_id = f"incident:demo:{dedup_key}"
    product.until_status(incident_id, lambda status: bool(pages_of(status)))
    assert product.cli("ack", incident_id, "--as", "ana").returncode == 0
    answer = product.cli("resolve", incident_id, "--as", "ana", "--summary", "cleared old logs")
    assert answer.returncode == 0, answer.stderr
    product.until_record(incident_id)
    return incident_id


def test_a_lifecycle_shows_on_the_worker_the_api_and_the_sdk_metrics(product: Product, resolved: str) -> None:
    greeting = product.output.read_text()
    assert f"worker {product.metrics_url}, Temporal SDK {product.sdk_metrics_url}" in greeting
    worker = scrape(product.metrics_url)
    assert value(worker, "escalation_opened_total", severity="SEV2") == 1
    assert value(worker, "escalation_pages_total", channel="console", outcome="delivered") >= 1
    assert value(worker, "escalation_closed_total", outcome="resolved", severity="SEV2") == 1
    assert value(worker, "escalation_time_to_acknowledge_seconds_count", severity="SEV2") == 1
    assert value(worker, "escalation_time_to_resolve_seconds_count", severity="SEV2") == 1
    assert value(worker, "process_resident_memory_bytes") > 0

    api = scrape(f"{product.api_url}/metrics")
    assert value(api, "escalation_events_ingested_total", integration="demo-alerts", result="accepted") == 1
    assert value(api, "escalation_api_request_duration_seconds_count", method="POST", route="/v2/enqueue",
                 status="202") == 1  # fmt: skip

    sdk = {name for name, _ in scrape(product.sdk_metrics_url)}
    queried = {name for expr in dashboard_queries() for name in SDK_METRIC.findall(expr)}
    assert queried, "the dashboard shows the Temporal SDK's metrics"
    expected = {name for name in queried if not ON_FAILURE_ONLY.search(name)}
    assert expected <= sdk, f"the dashboard queries what the SDK does not export: {sorted(expected - sdk)}"


@pytest.fixture
def prometheus(product: Product, tmp_path: Path) -> Iterator[str]:
    """A real Prometheus scraping the worker, its SDK metrics and the API every second; its URL."""
    binary = installed("prometheus", INSTALL_PROMETHEUS)
    targets = {
        "escalation-worker": product.metrics_url,
        "escalation-worker-sdk": product.sdk_metrics_url,
        "escalation-api": f"{product.api_url}/metrics",
    }
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "global": {"scrape_interval": "1s"},
                "scrape_configs": [
                    {"job_name": job, "static_configs": [{"targets": [url.split("/")[2]]}]}
                    for job, url in targets.items()
                ],
            }
        )
    )
    url = f"http://127.0.0.1:{free_port()}"
    log = tmp_path / "prometheus.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address={url.removeprefix('http://')}"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        until("Prometheus scraping them all", lambda: process.poll() is not None or _scraped(url))
        assert process.poll() is None, log.read_text()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _scraped(url: str) -> bool:
    try:
        result = _query(url, "(count_over_time(up[1m]) >= 3) and (up == 1)")
    except (httpx.TransportError, ValueError):  # not listening yet, or "Service Unavailable" while it starts
        return False
    return len(result["data"]["result"]) == 3


def _query(url: str, expr: str) -> dict[str, Any]:
    return httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()


def test_prometheus_answers_every_query_of_the_dashboard(resolved: str, prometheus: str) -> None:
    for expr in dashboard_queries():
        query = expr
        for variable, window in GRAFANA_WINDOWS.items():
            query = query.replace(variable, window)
        answer = _query(prometheus, query)
        assert answer["status"] == "success", f"{expr}: {answer}"
        # A query that filters may match nothing yet, and failures may not have happened.
        if "{" not in expr and not ON_FAILURE_ONLY.search(expr):
            assert answer["data"]["result"], f"no data for {expr}"
