"""Knowledge on the page as a user meets it: resolve an incident with its root cause, open a
similar one, and find that root cause in its status and in ``escalate similar``."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import Product

pytestmark = pytest.mark.e2e

CAUSE = "Cart service pinned an old payment SDK"


def trigger(product: Product, title: str) -> str:
    key = uuid.uuid4().hex[:8]
    args = ["trigger", "--service", "checkout", "--severity", "SEV2", "--title", title, "--policy", "e2e"]
    return product.cli_json(*args, "--dedup-key", key)["incident_id"]


def test_the_root_cause_of_a_resolved_incident_greets_the_next_similar_one(product: Product) -> None:
    first = trigger(product, "Cart checkout errors after deploy")
    # The top tier may resolve wherever the fast ladder has climbed meanwhile.
    resolved = product.cli(
        "resolve", first, "--as", "dba-kim", "--summary", "rolled back", "--root-cause", CAUSE
    )
    assert resolved.returncode == 0, resolved.stderr
    product.until_record(first)
    unrelated = trigger(product, "Search index stale")
    assert product.cli("cancel", unrelated, "--as", "dba-kim", "--reason", "false alarm").returncode == 0
    product.until_record(unrelated)

    second = trigger(product, "Cart checkout errors again")
    status = product.until_status(second, lambda s: s["similar"] is not None)
    assert [(past["incident_id"], past["root_cause"]) for past in status["similar"]] == [(first, CAUSE)]
    assert f"   root cause: {CAUSE}" in product.cli("status", second).stdout

    listed = product.cli("similar", second)
    assert listed.returncode == 0, listed.stderr
    assert "1. SEV2 checkout: Cart checkout errors after deploy" in listed.stdout
    assert f"   root cause: {CAUSE}" in listed.stdout and "Search index stale" not in listed.stdout
    assert [past["incident_id"] for past in product.cli_json("similar", second)] == [first]

    unknown = product.cli("similar", "incident:checkout:never-opened")
    assert unknown.returncode == 1 and "no incident 'incident:checkout:never-opened'" in unknown.stderr
