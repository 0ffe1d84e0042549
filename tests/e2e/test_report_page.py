"""``escalate report --html`` opened in a real (headless) Chromium, offline: every chart drew its
bars from the figures, the page asked nothing of the network, and incident text stayed text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from activities.store import RecordStore
from escalation.settings import Settings
from starter.cli import run
from tests.e2e.test_answer_from_the_page import INSTALL_CHROMIUM
from tests.report_records import NASTY_TITLE, recent_monday, report_records
from tests.support import installed

pytestmark = pytest.mark.e2e

EXPECTED_MARKS = {
    "outcomes": 3,  # SEV1 resolved, SEV2 resolved, SEV3 cancelled
    "mtta": 4,  # p50 and p90 of SEV1 and SEV2 (SEV3 was never acknowledged)
    "mttr": 4,  # the same (SEV3 was cancelled)
    "pages": 10,  # six responders; ben and sam were paged only outside working hours: one segment each
    "rates": 3,  # escalated, unnecessary, reviews complete
}
CHARTS = """() => [...document.querySelectorAll('svg.chart')].map(svg => ({
    id: svg.id,
    box: svg.getBoundingClientRect().toJSON(),
    marks: [...svg.querySelectorAll('rect.mark')].map(mark => ({
        series: mark.dataset.series,
        title: mark.querySelector('title').textContent,
        width: mark.getBoundingClientRect().width,
        height: mark.getBoundingClientRect().height,
        fill: getComputedStyle(mark).fill,
    })),
}))"""


@pytest.fixture
def report_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("ESCALATION_DATA_DIR", str(tmp_path / "data"))
    store = RecordStore.from_settings(Settings.from_env())
    store.upgrade()
    for record in report_records(recent_monday(datetime.now(UTC))):
        store.save(record)
    page = tmp_path / "report.html"
    assert run(["report", "--html", str(page)]) == 0
    return page


def opened(page: Page, file: Path) -> tuple[list[str], list[str]]:
    """Every request the page made, and every console error (a blocked load would log one)."""
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(file.as_uri())
    return requests, errors


def test_every_chart_draws_its_bars_offline(report_page: Path) -> None:
    chromium = installed("chromium", INSTALL_CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        requests, errors = opened(page, report_page)
        charts = {chart["id"]: chart for chart in page.evaluate(CHARTS)}
        scripts = page.locator("script").count()
        slowest = page.inner_text("#slowest")
        injected = page.locator("#slowest b").count()
        browser.close()

    assert requests == [report_page.as_uri()], "the page loads nothing beyond itself"
    assert errors == []
    assert {id: len(chart["marks"]) for id, chart in charts.items()} == EXPECTED_MARKS
    for chart in charts.values():
        assert chart["box"]["width"] > 0 and chart["box"]["height"] > 0, chart["id"]
        for mark in chart["marks"]:
            assert mark["width"] > 0 and mark["height"] > 0, mark
            assert mark["fill"] not in ("", "none", "rgb(0, 0, 0)"), f"{mark} has no colour of its own"
    sev1, sev2, _ = charts["outcomes"]["marks"]
    assert sev2["width"] == pytest.approx(2 * sev1["width"], rel=0.01), "SEV2's 4 is twice SEV1's 2"
    assert [m["title"] for m in charts["rates"]["marks"]] == [
        "Escalated: 3 of 7 (43%)",
        "Unnecessary: 2 of 3 (67%)",
        "Reviews done: 3 of 5 (60%)",
    ]
    assert NASTY_TITLE in slowest, "the title shows as written..."
    assert scripts == 0 and injected == 0, "...and never becomes markup"
