"""End to end against a real dev server: trigger → climb tiers → ack → resolve → record."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from tests.e2e.conftest import Product, pages_of

pytestmark = pytest.mark.e2e


def kinds(status: dict) -> list[str]:
    return [event["kind"] for event in status["timeline"]]


def test_incident_climbs_tiers_then_is_acknowledged_resolved_and_recorded(product: Product) -> None:
    key = uuid.uuid4().hex[:8]
    opened = product.cli_json("trigger", "--service", "checkout", "--severity", "SEV2", "--title",
                              "Card payments failing", "--dedup-key", key, "--policy", "e2e")  # fmt: skip
    incident_id = opened["incident_id"]
    assert incident_id == opened["workflow_id"] == f"incident:checkout:{key}"
    assert opened["ui_url"].endswith(f"/namespaces/default/workflows/incident%3Acheckout%3A{key}")

    climbed = product.until_status(incident_id, lambda s: len(pages_of(s)) >= 3)
    pages = pages_of(climbed)
    assert pages[:3] == [("frontline", ["ana"], "console"), ("frontline", ["ben"], "console"),
                         ("supervisor", ["sofia"], "console")]  # fmt: skip
    assert {"triggered", "ack_timeout", "escalated"} <= set(kinds(climbed))
    assert climbed["policy"]["name"] == "e2e" and climbed["policy"]["version"] == "3"
    assert all(e["at"].endswith("Z") for e in climbed["timeline"]), "timeline times are ISO-8601 UTC"

    acked = product.cli("ack", incident_id, "--as", "sofia", "--note", "on it")
    assert acked.returncode == 0, acked.stderr
    status = product.cli_json("status", incident_id)
    assert (status["status"], status["acknowledged_by"]) == ("acknowledged", "sofia")

    resolved = product.cli("resolve", incident_id, "--as", "sofia", "--summary", "rolled back deploy",
                           "--root-cause", "bad config push")  # fmt: skip
    assert resolved.returncode == 0, resolved.stderr
    record = product.until_record(incident_id)
    assert record["outcome"] == "resolved"
    assert record["acknowledged_by"] == "sofia" and record["acknowledged_tier"] == "supervisor"
    assert record["resolution"] == {"summary": "rolled back deploy", "root_cause": "bad config push"}
    assert record["time_to_acknowledge_seconds"] >= 3

    with sqlite3.connect(product.data_dir / "escalations.db") as db:
        row = db.execute(
            "SELECT outcome, policy_name, policy_version, resolved_by FROM escalations WHERE incident_id = ?",
            (incident_id,),
        ).fetchone()
    assert row == ("resolved", "e2e", "3", "sofia")


def test_bad_requests_fail_with_one_line_and_nonzero_exit(product: Product) -> None:
    unknown = product.cli("ack", "incident-none-here", "--as", "ana")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "escalate: no incident 'incident-none-here'; check the id printed by 'escalate trigger'"
    )

    opened = product.cli_json("trigger", "--service", "checkout", "--severity", "SEV3", "--title", "Slow",
                              "--policy", "e2e")  # fmt: skip
    stranger = product.cli("ack", opened["incident_id"], "--as", "mallory")
    assert stranger.returncode == 1
    assert "'mallory' is not a target of policy 'e2e'" in stranger.stderr
    assert "Traceback" not in stranger.stderr and len(stranger.stderr.strip().splitlines()) == 1

    empty = product.cli("resolve", opened["incident_id"], "--as", "ana", "--summary", " ")
    assert empty.returncode == 2 and "argument --summary: must not be blank" in empty.stderr
    assert product.cli_json("status", opened["incident_id"])["status"] != "resolved"

    no_policy = product.cli("trigger", "--service", "checkout", "--severity", "SEV3", "--title", "x",
                            "--policy", "nope")  # fmt: skip
    assert no_policy.returncode == 2 and "policy 'nope' does not exist" in no_policy.stderr

    missing_title = product.cli("trigger", "--service", "checkout", "--severity", "SEV3")
    assert missing_title.returncode == 2
    assert missing_title.stderr == "escalate: missing --title: give it as a flag or in the --file incident\n"

    not_a_file = product.cli("trigger", "--file", str(product.data_dir))
    assert not_a_file.returncode == 2 and "cannot be read" in not_a_file.stderr
    assert "Traceback" not in not_a_file.stderr
