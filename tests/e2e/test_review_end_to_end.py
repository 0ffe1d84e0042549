"""End to end against a real dev server: resolve → the record's review pending → escalate review."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from tests.e2e.conftest import Product

pytestmark = pytest.mark.e2e


def test_the_owner_submits_the_review_from_the_cli_directly_and_over_the_api(product: Product) -> None:
    incident_ids = []
    for _ in range(2):
        key = uuid.uuid4().hex[:8]
        opened = product.cli_json("trigger", "--service", "checkout", "--severity", "SEV2", "--title",
                                  "Card payments failing", "--dedup-key", key, "--policy", "e2e")  # fmt: skip
        incident_id = opened["incident_id"]
        assert product.cli("ack", incident_id, "--as", "ana").returncode == 0
        resolved = product.cli("resolve", incident_id, "--as", "ana", "--summary", "rolled back")
        assert resolved.returncode == 0, resolved.stderr
        assert product.until_record(incident_id)["review"]["status"] == "pending"
        incident_ids.append(incident_id)
    direct, over_api = incident_ids
    assert "review: pending (owner ana, due " in product.cli("record", direct).stdout

    stranger = product.cli("review", direct, "--as", "ben", "--verdict", "necessary", "--lesson", "x")
    assert stranger.returncode == 1
    assert stranger.stderr.strip() == "escalate: refused: ben may not submit this review: it is ana's"
    submitted = product.cli("review", direct, "--as", "ana", "--verdict", "partly", "--stop-at",
                            "frontline", "--prevention", "alert on error rate per deploy", "--follow-up",
                            "PAY-12")  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.strip() == f"review of {direct} recorded: partly, submitted by ana; thank you"
    record = product.cli_json("record", direct)
    assert record["review"]["status"] == "complete" and record["review"]["submitted_by"] == "ana"
    assert record["review"]["submission"]["prevention"] == ["alert on error rate per deploy"]

    token = product.cli("token", "--as", "ana").stdout.strip()
    api_env = {"ESCALATION_API_URL": product.api_url, "ESCALATION_TOKEN": token}
    as_ana = dataclasses.replace(product, env=product.env | api_env)
    over = as_ana.cli("review", over_api, "--verdict", "necessary", "--lesson", "the runbook worked")
    assert over.returncode == 0, over.stderr
    assert product.cli_json("record", over_api)["review"]["status"] == "complete"
    again = as_ana.cli("review", over_api, "--verdict", "necessary", "--lesson", "again")
    assert again.returncode == 1 and "has no review pending (its latest review is complete)" in again.stderr
