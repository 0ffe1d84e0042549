"""A responder answers from the page, as one would at 3 a.m.: the link in the e-mail that
``escalate inbox`` caught, opened in a real (headless) Chromium, and its button pressed."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.test_channels_demo import demo_with_inbox, open_demo_incident
from tests.support import installed

pytestmark = pytest.mark.e2e

INSTALL_CHROMIUM = "apt-get install -y chromium (Debian/Ubuntu)"


def caught_link(log: Path, who: str, action: str) -> str:
    """The first ``action`` link under an e-mail to ``who`` in the inbox's output (bounded wait)."""
    deadline = time.monotonic() + 60
    pattern = re.compile(
        rf"^email to {re.escape(who)}: .*\n(?:  \w+: .*\n)*?  {action}: (\S+)$", re.MULTILINE
    )
    while time.monotonic() < deadline:
        if found := pattern.search(log.read_text()):
            return found[1]
        time.sleep(0.2)
    raise AssertionError(f"no {action} link for {who} in the inbox:\n{log.read_text()}")


def test_acknowledge_from_the_link_in_the_caught_email_in_a_real_browser(tmp_path: Path) -> None:
    chromium = installed("chromium", INSTALL_CHROMIUM)
    with demo_with_inbox(tmp_path) as (product, caught):
        incident_id = open_demo_incident(product)
        link = caught_link(caught, "Ana Frontline <ana@example.com>", "acknowledge")
        assert link.startswith(f"{product.api_url}/a/")

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(link)
            button = page.wait_for_selector("#act")
            assert button.inner_text() == "Acknowledge as ana"
            assert "Disk full" in page.inner_text("#incident")
            button.click()
            outcome = page.wait_for_selector("#outcome").inner_text()
            status_shown = page.inner_text("#status")
            browser.close()

        status = product.cli_json("status", incident_id)
        logged = product.output.read_text()

    assert outcome.startswith(f"{incident_id} acknowledged by ana"), outcome
    assert status_shown == "acknowledged"
    assert status["status"] == "acknowledged" and status["acknowledged_by"] == "ana"
    [acknowledged] = [event for event in status["timeline"] if event["kind"] == "acknowledged"]
    assert acknowledged["via"] == "link" and acknowledged["actor"] == "ana"
    assert '"POST /a/[token] HTTP/1.1" 200' in logged, "the API's access log shows the request..."
    assert link.removeprefix(f"{product.api_url}/a/") not in logged, "...but never the link's token"
