"""``escalate up`` serves Prometheus metrics from the worker, the API and the Temporal SDK, and they
move with a real escalation: ingested, paged, acknowledged, resolved."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

from tests.e2e.conftest import Product, pages_of
from tests.scrape import samples
from tests.support import DEMO_ALERTS_KEY, REPO

pytestmark = pytest.mark.e2e

DASHBOARD = REPO / "deploy" / "grafana" / "escalation-orchestrator.json"
SDK_METRIC = re.compile(r"\btemporal_[a-z0-9_]+")
ON_FAILURE_ONLY = re.compile(r"_fail(ure|ed)\b")
"""SDK counters that only appear once something failed (a poll, a request, a task)."""


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return samples(response.text)


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def test_a_lifecycle_shows_on_the_worker_the_api_and_the_sdk_metrics(product: Product) -> None:
    greeting = product.output.read_text()
    assert f"worker {product.metrics_url}, Temporal SDK {product.sdk_metrics_url}" in greeting
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
    resolved = product.cli("resolve", incident_id, "--as", "ana", "--summary", "cleared old logs")
    assert resolved.returncode == 0, resolved.stderr
    product.until_record(incident_id)

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
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queried = {
        name
        for row in dashboard["panels"]
        for panel in (row, *row.get("panels", []))
        for target in panel.get("targets", [])
        for name in SDK_METRIC.findall(target["expr"])
    }
    assert queried, "the dashboard shows the Temporal SDK's metrics"
    expected = {name for name in queried if not ON_FAILURE_ONLY.search(name)}
    assert expected <= sdk, f"the dashboard queries what the SDK does not export: {sorted(expected - sdk)}"
