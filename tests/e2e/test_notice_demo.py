"""The shipped demo, closed as a user closes it: the notices reach ``escalate inbox``, and the
resolver's carries the link to the review form."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.test_answer_from_the_page import caught_link
from tests.e2e.test_channels_demo import demo_with_inbox, open_demo_incident, reached_by_email

pytestmark = pytest.mark.e2e


def test_resolving_the_demo_incident_sends_notices_to_the_inbox_with_the_review_link(tmp_path: Path) -> None:
    with demo_with_inbox(tmp_path) as (product, caught):
        incident_id = open_demo_incident(product)
        product.until_status(incident_id, lambda s: "sofia" in reached_by_email(s))
        resolved = product.cli("resolve", incident_id, "--as", "sofia", "--summary", "freed the disk")
        assert resolved.returncode == 0, resolved.stderr
        link = caught_link(caught, "Sofia Supervisor <sofia@example.com>", "review")
        form = httpx.get(link, timeout=30)
        lines = caught.read_text().splitlines()

    assert link.startswith(f"{product.api_url}/r/")
    assert form.status_code == 200 and "Submit the review as sofia" in form.text
    for who in ("Ana Frontline <ana@example.com>", "Ben Frontline <ben@example.com>"):
        assert any(line.startswith(f"email to {who}: [SEV2] Resolved: demo: Disk full") for line in lines), (
            lines
        )
    assert any(line.startswith("webhook ops-bridge (signature ok): closed notice: SEV2 Disk full resolved")
               for line in lines), lines  # fmt: skip
