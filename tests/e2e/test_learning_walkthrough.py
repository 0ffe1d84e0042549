"""The learning loop tried as a new user tries it, on the shipped demo under ``escalate up`` beside
``escalate inbox``: resolve the demo incident, find the notice in the inbox, submit the review
from its link in a real (headless) Chromium, trigger a similar incident and read the first one's
root cause on its page, then open ``escalate report --html`` with its charts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.test_answer_from_the_page import INSTALL_CHROMIUM, caught_link
from tests.e2e.test_channels_demo import demo_with_inbox, open_demo_incident, reached_by_email
from tests.support import installed

pytestmark = pytest.mark.e2e

ROOT_CAUSE = "log rotation stopped after the cron image update"
PREVENTION = "alert on disk use above 80 percent"


def seen_before(caught: Path, text: str) -> str:
    """The inbox's ``seen before`` line under a first page that names ``text`` (bounded wait)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = caught.read_text().splitlines()
        if found := [line for line in lines if line.startswith("  seen before:") and text in line]:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no first page carried {text!r}:\n{caught.read_text()}")


def test_resolve_review_from_the_link_see_it_on_the_next_similar_page_and_report_it(tmp_path: Path) -> None:
    chromium = installed("chromium", INSTALL_CHROMIUM)
    with demo_with_inbox(tmp_path) as (product, caught), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        first = open_demo_incident(product)
        product.until_status(first, lambda s: "sofia" in reached_by_email(s))
        acknowledged = product.cli("ack", first, "--as", "sofia")
        assert acknowledged.returncode == 0, acknowledged.stderr
        resolved = product.cli(
            "resolve", first, "--as", "sofia", "--summary", "freed the disk", "--root-cause", ROOT_CAUSE
        )
        assert resolved.returncode == 0, resolved.stderr

        page = browser.new_page()
        page.goto(caught_link(caught, "Sofia Supervisor <sofia@example.com>", "review"))
        page.wait_for_selector("#submit")
        page.select_option("#verdict", "partly")
        page.fill("#stop_at", "frontline")
        page.fill("#prevention", PREVENTION)
        page.click("#submit")
        shown = page.wait_for_selector("#verdict").inner_text()
        record = product.cli_json("record", first)

        second = product.cli_json(
            "trigger", "--service", "demo", "--severity", "SEV2", "--title", "Disk full on the demo host"
        )["incident_id"]
        similar = product.until_status(second, lambda s: bool(s.get("similar")))["similar"]
        carried = seen_before(caught, ROOT_CAUSE)

        report = tmp_path / "report.html"
        reported = product.cli("report", "--html", str(report))
        assert reported.returncode == 0, reported.stderr
        page.goto(report.as_uri())
        page.wait_for_selector("svg.chart")
        charts = page.eval_on_selector_all(
            "svg.chart", "charts => charts.map(c => c.querySelectorAll('rect.mark').length)"
        )
        browser.close()

    assert shown.startswith("partly"), shown
    assert record["review"]["status"] == "complete" and record["review"]["submitted_by"] == "sofia"
    assert record["review"]["submission"]["prevention"] == [PREVENTION]
    assert second != first
    assert [past["incident_id"] for past in similar] == [first]
    assert similar[0]["root_cause"] == ROOT_CAUSE and similar[0]["prevention"] == [PREVENTION]
    assert "Disk full" in carried, carried
    assert len(charts) >= 4 and all(marks > 0 for marks in charts), charts
