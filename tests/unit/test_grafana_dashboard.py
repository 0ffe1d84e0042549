"""deploy/grafana's dashboard is importable Grafana JSON and queries only metrics the code defines."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from activities import metrics as worker
from starter.web import metrics as api
from tests.support import REPO

DASHBOARD = REPO / "deploy" / "grafana" / "escalation-orchestrator.json"
OURS = re.compile(r"\bescalation_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
PANEL_TYPES = {"row", "stat", "bargauge", "timeseries"}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    return [p for top in dashboard["panels"] for p in (top, *top.get("panels", []))]


def series_names(registry: CollectorRegistry) -> dict[str, str]:
    """Every series name a scrape of ``registry`` can show, and the metric it belongs to."""
    return {
        family.name + suffix: family.name
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, ())
    }


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])]


def test_it_has_the_shape_grafana_imports(dashboard: dict[str, Any]) -> None:
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard["title"] and dashboard["uid"]
    [variable] = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert (variable["name"], variable["query"]) == ("datasource", "prometheus")
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(dashboard):
        assert panel["type"] in PANEL_TYPES, panel["title"]
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in "hwxy") and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]


def test_every_escalation_metric_it_queries_exists_and_each_has_a_panel(dashboard: dict[str, Any]) -> None:
    defined = series_names(worker.REGISTRY) | series_names(api.REGISTRY)
    queried = {name for expr in queries(dashboard) for name in OURS.findall(expr)}
    assert queried <= set(defined), f"not defined in the code: {sorted(queried - set(defined))}"
    ours = {metric for metric in defined.values() if metric.startswith("escalation_")}
    assert ours == {defined[name] for name in queried}, "every escalation metric needs a panel"
