"""Close-out records and the embedded server's data directory are readable by their owner only."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalation.state import EscalationRecord, PolicyRef, Status
from starter.embedded import prepare_data_dir
from tests.support import incident, sqlite_store


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def a_record() -> EscalationRecord:
    return EscalationRecord(
        incident_id="incident:payments:db-down", incident=incident(), severity=incident().severity,
        policy=PolicyRef(name="test", version="7", digest="d"), outcome=Status.RESOLVED,
        triggered_at=datetime(2026, 11, 25, 3, 12, tzinfo=UTC), acknowledged_at=None, acknowledged_by=None,
        acknowledged_tier=None, resolved_at=None, resolved_by="ana", resolution=None,
        time_to_acknowledge_seconds=None, time_to_resolve_seconds=None, timeline=[],
    )  # fmt: skip


@pytest.mark.usefixtures("permissive_umask")
def test_the_record_store_creates_its_database_and_directory_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "records" / "escalations.db"
    store = sqlite_store(path)
    store.save(a_record())
    with closing(sqlite3.connect(path)) as reader:  # kept open, so -wal and -shm stay
        reader.execute("SELECT count(*) FROM escalations").fetchone()
        store.save(a_record())
        files = sorted(path.parent.iterdir())
        assert [file.name for file in files] == ["escalations.db", "escalations.db-shm", "escalations.db-wal"]
        assert {file.name: mode(file) for file in files} == dict.fromkeys([f.name for f in files], 0o600)
    assert mode(path.parent) == 0o700
    assert store.latest("incident:payments:db-down") == a_record()


@pytest.mark.usefixtures("permissive_umask")
def test_a_new_data_directory_is_owner_only(tmp_path: Path) -> None:
    assert prepare_data_dir(tmp_path / "data") is False, "nothing was tightened: it is new"
    assert mode(tmp_path / "data") == 0o700


def test_an_existing_world_readable_data_directory_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data").chmod(0o755)
    assert prepare_data_dir(tmp_path / "data") is True
    assert mode(tmp_path / "data") == 0o700
    assert prepare_data_dir(tmp_path / "data") is False, "already owner-only: nothing to say"
