"""What operators and responders see on a real dev server: search attributes, list, every operation."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import Product
from tests.support import binary

pytestmark = pytest.mark.e2e


def temporal_list(product: Product, query: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [binary("temporal"), "workflow", "list", "--address", product.env["TEMPORAL_ADDRESS"],
         "--query", query, "-o", "json"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return json.loads(result.stdout or "[]")


def until_listed(product: Product, query: str, incident_id: str, present: bool = True) -> None:
    """Visibility is eventually consistent: poll (bounded) until the incident is (not) listed."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ids = [w["execution"]["workflowId"] for w in temporal_list(product, query)]
        if (incident_id in ids) == present:
            return
        time.sleep(0.5)
    raise AssertionError(f"{incident_id} {'never' if present else 'still'} listed for {query}")


def trigger(product: Product, severity: str, key: str | None = None) -> dict[str, Any]:
    args = [
        "trigger",
        "--service",
        "checkout",
        "--severity",
        severity,
        "--title",
        "Cart errors",
        "--policy",
        "e2e",
    ]
    return product.cli_json(*args, *(["--dedup-key", key] if key else []))


def test_search_attributes_follow_the_escalation_and_temporal_list_finds_it(product: Product) -> None:
    incident_id = trigger(product, "SEV1")["incident_id"]
    unacknowledged_sev1 = 'EscalationStatus="triggered" AND EscalationSeverity="SEV1"'
    until_listed(product, unacknowledged_sev1, incident_id)
    until_listed(product, 'EscalationService="checkout" AND EscalationTier=1', incident_id)

    assert product.cli("ack", incident_id, "--as", "ana").returncode == 0
    until_listed(product, unacknowledged_sev1, incident_id, present=False)
    until_listed(product, 'EscalationStatus="acknowledged" AND AcknowledgedBy="ana"', incident_id)

    assert (
        product.cli("severity", incident_id, "SEV3", "--as", "ana", "--reason", "one tenant").returncode == 0
    )
    until_listed(product, 'EscalationSeverity="SEV3"', incident_id)

    listed = product.cli_json("list", "--severity", "SEV3", "--service", "checkout")
    assert [item["incident_id"] for item in listed if item["incident_id"] == incident_id] == [incident_id]
    row = next(item for item in listed if item["incident_id"] == incident_id)
    # The fast ladder may have climbed before ana acknowledged: the tier is wherever it stopped.
    tier = ["frontline", "supervisor", "specialist"].index(
        product.cli_json("status", incident_id)["tier_name"]
    )
    assert (row["status"], row["acknowledged_by"], row["tier"]) == ("acknowledged", "ana", tier + 1)

    table = product.cli("list")
    assert table.returncode == 0 and incident_id in table.stdout and "ACK BY" in table.stdout


def test_every_responder_operation_from_the_cli(product: Product) -> None:
    incident_id = trigger(product, "SEV2")["incident_id"]
    steps = [
        ["note", incident_id, "checked the load balancer", "--as", "ana"],
        ["ack", incident_id, "--as", "ana"],
        ["escalate", incident_id, "--as", "ana", "--reason", "needs the payment provider contact"],
        ["ack", incident_id, "--as", "sofia"],
        ["reassign", incident_id, "--as", "sofia", "--to", "dba-kim"],
        ["cancel", incident_id, "--as", "dba-kim", "--reason", "provider status page was wrong"],
    ]
    for step in steps:
        result = product.cli(*step)
        assert result.returncode == 0, f"{step}: {result.stderr}"

    record = product.until_record(incident_id)
    assert (record["outcome"], record["resolved_by"]) == ("cancelled", "dba-kim")
    kinds = [event["kind"] for event in record["timeline"]]
    for kind in ("note", "acknowledged", "escalated", "reassigned", "cancelled"):
        assert kind in kinds

    refused = product.cli("note", incident_id, "too late", "--as", "ana")
    assert refused.returncode == 1 and "takes no more actions" in refused.stderr


def test_a_duplicate_trigger_reports_deduplicated_and_the_key_reopens_after_resolve(product: Product) -> None:
    key = uuid.uuid4().hex[:8]
    first = trigger(product, "SEV2", key)
    again = trigger(product, "SEV2", key)
    assert (first["deduplicated"], again["deduplicated"]) == (False, True)
    assert again["incident_id"] == first["incident_id"] and again["occurrences"] == 2

    status = product.cli_json("status", first["incident_id"])
    assert status["occurrences"] == 2
    assert [e["kind"] for e in status["timeline"]].count("repeated") == 1

    # The top tier may resolve wherever the fast ladder has climbed meanwhile.
    resolved = product.cli("resolve", first["incident_id"], "--as", "dba-kim", "--summary", "fixed")
    assert resolved.returncode == 0, resolved.stderr
    product.until_record(first["incident_id"])
    reopened = trigger(product, "SEV2", key)
    assert (reopened["incident_id"], reopened["deduplicated"]) == (first["incident_id"], False)
