"""The benchmarks' quick runs: each script works end to end and writes its figures to its own
section of the page. Figures from a quick run mean nothing, so no time is ever asserted."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.e2e

RUNS = [
    # the lifecycle run with 1 and 2 worker processes: the scaling section
    (
        ["bench.lifecycle", "--workers", "1", "2"],
        "scaling",
        ["1 worker process per side", "2 worker processes"],
    ),
    (["bench.open_escalations"], "open-escalations", ["timer lag p50 / p99", "acknowledging all", "RSS"]),
    (["bench.ingest"], "ingest", ["HTTP POST /v2/enqueue", "Python API trigger"]),
]


def section(text: str, name: str) -> str:
    found = re.search(f"<!-- begin: {name} -->(.*?)<!-- end: {name} -->", text, re.DOTALL)
    assert found, f"section {name} is missing"
    return found[1]


def without(text: str, name: str) -> str:
    return text.replace(section(text, name), "")


@pytest.mark.parametrize(("command", "name", "labels"), RUNS, ids=[run[1] for run in RUNS])
def test_quick_run_writes_its_figures(
    tmp_path: Path, command: list[str], name: str, labels: list[str]
) -> None:
    docs = tmp_path / "benchmarks.md"
    shutil.copy(REPO / "docs" / "benchmarks.md", docs)
    before = docs.read_text()

    result = subprocess.run(
        [sys.executable, "-m", *command, "--quick", "--docs", str(docs)],
        cwd=REPO, capture_output=True, text=True, timeout=170,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    after = docs.read_text()
    written = section(after, name)
    assert f"`python -m {shlex.join([*command, '--quick', '--docs', str(docs)])}`" in written
    assert re.search(r"Machine: \d+ cores .*GiB memory", written)
    assert re.search(r"Date: \d{4}-\d\d-\d\d", written)
    assert all(label in written for label in labels), written
    assert re.search(r"\| \d+\.\d\dx", written), "a ratio against the floor"
    assert not re.search(r"n/a|\bnan\b", written), f"a figure is missing:\n{written}"
    assert without(after, name) == without(before, name), "only its own section changes"
