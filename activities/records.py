"""The close-out archive: one row per finished escalation in an embedded SQLite database.

Rows keep the headline facts as columns for ad-hoc SQL (time to acknowledge per service,
which tier resolves most) and the whole record as JSON for everything else. Records hold
incident details, so the file is readable by its owner only, whatever the umask.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

from escalation.learning import Review
from escalation.state import EscalationRecord

OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700

_SCHEMA = """
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


class RecordStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self._create_owner_only()
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=wal")
        connection.execute(_SCHEMA)
        return connection

    def _create_owner_only(self) -> None:
        """Create the database file 0600 before SQLite does (it would apply the umask, often
        leaving it world-readable); SQLite gives its -wal and -shm files the same mode."""
        self.path.parent.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, OWNER_ONLY_FILE))

    def save(self, record: EscalationRecord) -> None:
        """Insert or replace, so a retried close-out writes the same row once."""
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT OR REPLACE INTO escalations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.incident_id,
                    record.triggered_at.isoformat(),
                    record.incident.service,
                    record.severity.value,
                    record.incident.title,
                    record.outcome.value,
                    record.policy.name,
                    record.policy.version,
                    record.acknowledged_by,
                    record.acknowledged_tier,
                    record.resolved_by,
                    record.time_to_acknowledge_seconds,
                    record.time_to_resolve_seconds,
                    record.model_dump_json(),
                ),
            )

    def latest(self, incident_id: str) -> EscalationRecord | None:
        """The most recent close-out for an incident id (a dedup key can recur after resolve)."""
        if not self.path.exists():
            return None
        with closing(self._connect()) as connection:
            row = connection.execute(
                "SELECT record FROM escalations WHERE incident_id = ? ORDER BY triggered_at DESC LIMIT 1",
                (incident_id,),
            ).fetchone()
        return EscalationRecord.model_validate_json(row[0]) if row else None

    def set_review(self, incident_id: str, triggered_at: datetime, review: Review) -> None:
        """The review's current state into the record of the escalation opened at ``triggered_at``."""
        key = (incident_id, triggered_at.isoformat())
        with closing(self._connect()) as connection, connection:
            row = connection.execute(
                "SELECT record FROM escalations WHERE incident_id = ? AND triggered_at = ?", key
            ).fetchone()
            if row is None:
                raise LookupError(f"no close-out record for {incident_id} triggered at {key[1]}")
            record = EscalationRecord.model_validate_json(row[0]).model_copy(update={"review": review})
            connection.execute(
                "UPDATE escalations SET record = ? WHERE incident_id = ? AND triggered_at = ?",
                (record.model_dump_json(), *key),
            )
