"""Incident details at rest: ``escalate up`` keeps its data directory owner-only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import start_product

pytestmark = pytest.mark.e2e


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def modes(directory: Path) -> dict[str, str]:
    return {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in directory.iterdir()}


def test_server_state_log_and_records_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)  # as an earlier version left it
    with umask(0o022):
        product = start_product(tmp_path, data_dir)
    try:
        opened = product.cli_json("trigger", "--service", "checkout", "--severity", "SEV3", "--title",
                                  "Card data in logs", "--policy", "e2e")  # fmt: skip
        resolved = product.cli("resolve", opened["incident_id"], "--as", "ana", "--summary", "scrubbed")
        assert resolved.returncode == 0, resolved.stderr
        product.until_record(opened["incident_id"])

        assert oct(stat.S_IMODE(data_dir.stat().st_mode)) == "0o700"
        found = modes(data_dir)
        assert {"temporal.db", "temporal.db-wal", "temporal.db-shm", "temporal.log", "escalations.db"} <= set(
            found
        )
        assert found == dict.fromkeys(found, "0o600")
    finally:
        assert product.stop() == 0
    assert f"tightened {data_dir} to owner-only access (0700)" in product.output.read_text()
