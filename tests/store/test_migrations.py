"""Upgrading: databases written before migrations existed carry over whole, upgrading again
changes nothing, and processes upgrading at once do not trip over each other."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from activities.store import RecordStore
from escalation.state import EscalationRecord
from tests.postgres import PostgresServer
from tests.store.records import T0, closed
from tests.support import incident

HEAD = "0003"
FIRST_SCHEMA = """
CREATE TABLE IF NOT EXISTS escalations (
    incident_id TEXT NOT NULL,
    triggered_at TEXT NOT NULL,
    service TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    outcome TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_tier TEXT,
    resolved_by TEXT,
    time_to_acknowledge_seconds REAL,
    time_to_resolve_seconds REAL,
    record TEXT NOT NULL,
    PRIMARY KEY (incident_id, triggered_at)
)
"""
"""The table exactly as the store kept it before migrations (activities/records.py)."""


def first_version_row(record: EscalationRecord) -> tuple[object, ...]:
    """A row as that store wrote it; its records knew nothing of reviews."""
    return (
        record.incident_id, record.triggered_at.isoformat(), record.incident.service, record.severity.value,
        record.incident.title, record.outcome.value, record.policy.name, record.policy.version,
        record.acknowledged_by, record.acknowledged_tier, record.resolved_by,
        record.time_to_acknowledge_seconds, record.time_to_resolve_seconds,
        record.model_dump_json(exclude={"review"}),
    )  # fmt: skip


OLD = [
    closed("pool", root_cause="connection pool exhausted", at=T0),
    closed("pool", root_cause="the pool again", at=T0 + timedelta(days=3)),
    closed("alarm", service="search", title="Index stale", at=T0 + timedelta(days=1), cancelled=True),
]


def test_a_sqlite_file_written_before_migrations_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "escalations.db"
    with closing(sqlite3.connect(path)) as old, old:
        old.execute("PRAGMA journal_mode=wal")
        old.execute(FIRST_SCHEMA)
        old.executemany("INSERT OR REPLACE INTO escalations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        [first_version_row(record) for record in OLD])  # fmt: skip

    store = RecordStore(f"sqlite:///{path}")
    store.upgrade()

    assert_carried_over(store)


def test_a_postgresql_table_like_the_first_version_is_adopted_too(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    with psycopg.connect(url.replace("+psycopg", "")) as old:
        old.execute(FIRST_SCHEMA)
        with old.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO escalations VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                [first_version_row(record) for record in OLD],
            )

    store = RecordStore(url)
    store.upgrade()

    assert_carried_over(store)


def assert_carried_over(store: RecordStore) -> None:
    assert store.revision() == HEAD
    assert store.records() == sorted(OLD, key=lambda record: record.triggered_at)
    assert store.latest(OLD[0].incident_id) == OLD[1]
    assert store.get(OLD[0].incident_id, T0) == OLD[0]
    found = store.similar(incident(key="new", title="Connection pool exhausted on checkout"), limit=5)
    assert [(s.incident_id, s.root_cause) for s in found] == [
        ("incident:payments:pool", "connection pool exhausted"),
        ("incident:payments:pool", "the pool again"),
    ], "the search covers rows written before it existed"


def test_upgrading_again_changes_nothing(store: RecordStore) -> None:
    store.save(closed())
    store.upgrade()
    store.upgrade()
    assert store.revision() == HEAD
    assert store.records() == [closed()]


def test_a_never_upgraded_database_is_at_no_revision(database_url: str) -> None:
    assert RecordStore(database_url).revision() is None


@pytest.mark.timeout(60)
def test_processes_upgrading_at_once_both_succeed(database_url: str) -> None:
    """Workers and ``escalate up`` starting together: one migrates, the others wait, then find it done."""
    stores = [RecordStore(database_url) for _ in range(4)]
    start, failures = threading.Barrier(len(stores)), []

    def upgrade(store: RecordStore) -> None:
        start.wait()
        try:
            store.upgrade()
        except Exception as error:  # reported below, with the others
            failures.append(error)

    threads = [threading.Thread(target=upgrade, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert [store.revision() for store in stores] == [HEAD] * len(stores)
    stores[0].save(closed())
    assert stores[-1].records() == [closed()]
