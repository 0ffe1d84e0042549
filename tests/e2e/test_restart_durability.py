"""Nothing is lost when the product stops: an escalation resumes after ``escalate up`` restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import pages_of, start_product

pytestmark = pytest.mark.e2e


def test_escalation_keeps_climbing_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_product(tmp_path, data_dir)
    try:
        opened = first.cli_json("trigger", "--service", "search", "--severity", "SEV2", "--title",
                                "Index lagging", "--policy", "e2e")  # fmt: skip
        first.until_status(opened["incident_id"], lambda s: len(s["timeline"]) >= 2)
    finally:
        assert first.stop() == 0

    second = start_product(tmp_path, data_dir)
    try:
        status = second.until_status(opened["incident_id"], lambda s: len(pages_of(s)) >= 4)
        pages = [targets for _, targets, _ in pages_of(status)]
        assert pages[:4] == [["ana"], ["ben"], ["sofia"], ["dba-kim"]]
        assert status["status"] in ("triggered", "exhausted"), "still open, as the fast ladder allows"
    finally:
        assert second.stop() == 0
