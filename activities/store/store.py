"""The record store: every finished escalation, its review, and the search for similar ones.

One database for every worker, the CLI and the API: an SQLite file for the embedded default,
PostgreSQL (``ESCALATION_DATABASE_URL``) when workers run on several machines. Methods are
synchronous (callers use ``asyncio.to_thread``), and each runs in its own short transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import URL, ColumnElement, Connection, Row, and_, case, select, text, true
from sqlalchemy.dialects import postgresql, sqlite

from activities.store.engine import WRITE, RecordNotFound, connect, database_url, masked, translated
from activities.store.schema import escalations
from activities.store.search import query_words, similar_query
from escalation.learning import Review, SimilarIncident
from escalation.models import Incident
from escalation.settings import Settings
from escalation.state import EscalationRecord, Status

FINISHED = (Status.RESOLVED.value, Status.CANCELLED.value)
UPGRADE_LOCK = 0x6573_6361_6C61_7465
"""PostgreSQL advisory lock held while upgrading, so processes starting together migrate once."""
KEY = ["incident_id", "triggered_at"]
REVIEW_COLUMNS = ("review", "review_status", "prevention")
"""Written by ``set_review``; a re-saved record (a retried close-out) keeps them once set."""

logging.getLogger("alembic").setLevel(logging.WARNING)  # it narrates every connection; upgrade() logs changes


class RecordStore:
    def __init__(self, url: str | URL) -> None:
        self._url = database_url(url)
        self._engine = connect(self._url)

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordStore:
        """``ESCALATION_DATABASE_URL``, or the embedded default's SQLite file."""
        return cls(settings.database_url or URL.create("sqlite", database=str(settings.database_path)))

    @property
    def location(self) -> str:
        """The database, as logs and messages may show it: any password masked."""
        return masked(self._url)

    def close(self) -> None:
        self._engine.dispose()

    def upgrade(self) -> None:
        """Create or migrate the tables to this version's schema (Alembic ``upgrade head``).

        Idempotent, adopts files written before migrations existed, and safe when several
        processes start at once: one transaction, under a lock (PostgreSQL's advisory lock,
        SQLite's write lock), so the others wait and then find nothing left to do.
        """
        from alembic import command  # migrations only: readers of the store never load Alembic
        from alembic.config import Config
        from alembic.migration import MigrationContext

        config = Config()
        config.set_main_option("script_location", "activities.store:migrations")
        config.set_main_option("path_separator", "os")
        with self._transaction(write=True) as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
            config.attributes["connection"] = connection
            before = MigrationContext.configure(connection).get_current_revision()
            command.upgrade(config, "head")
            after = MigrationContext.configure(connection).get_current_revision()
        if after != before:
            structlog.get_logger().info(
                "record store upgraded", database=self.location, revision=after, previous=before
            )

    def revision(self) -> str | None:
        """The schema revision the database is at (None: never upgraded)."""
        from alembic.migration import MigrationContext

        with self._transaction() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def save(self, record: EscalationRecord) -> None:
        """Insert or update by (incident id, trigger time), so a retried close-out writes one row;
        a review already stored stays (the review workflow may have moved on since)."""
        upsert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[self._engine.dialect.name]
        statement = upsert(escalations).values(_row(record))
        no_review_yet = escalations.c.review.is_(None)
        updates = {
            column.name: case((no_review_yet, statement.excluded[column.name]), else_=column)
            if column.name in REVIEW_COLUMNS
            else statement.excluded[column.name]
            for column in escalations.c
            if column.name not in KEY
        }
        statement = statement.on_conflict_do_update(index_elements=KEY, set_=updates)
        with self._transaction(write=True) as connection:
            connection.execute(statement)

    def set_review(self, incident_id: str, triggered_at: datetime, review: Review) -> None:
        with self._transaction(write=True) as connection:
            updated = connection.execute(
                escalations.update().where(_key(incident_id, triggered_at)).values(_review_columns(review))
            )
            if updated.rowcount == 0:
                at = _stamp(triggered_at)
                raise RecordNotFound(f"no close-out record for {incident_id} triggered at {at}")

    def latest(self, incident_id: str) -> EscalationRecord | None:
        """The most recent close-out for an incident id (a dedup key can recur after resolve)."""
        found = self._select(escalations.c.incident_id == incident_id, escalations.c.triggered_at.desc(), 1)
        return found[0] if found else None

    def get(self, incident_id: str, triggered_at: datetime) -> EscalationRecord | None:
        found = self._select(_key(incident_id, triggered_at), escalations.c.triggered_at, 1)
        return found[0] if found else None

    def records(self, since: datetime | None = None, service: str | None = None) -> list[EscalationRecord]:
        """Records triggered at or after ``since``, of ``service``, oldest first."""
        where = and_(
            escalations.c.triggered_at >= _stamp(since) if since else true(),
            escalations.c.service == service if service else true(),
        )
        return self._select(where, escalations.c.triggered_at)

    def similar(
        self, incident: Incident, *, limit: int = 3, exclude: tuple[str, datetime] | None = None
    ) -> list[SimilarIncident]:
        """Finished escalations like ``incident``: sharing words of its title or summary with
        theirs, their root cause or their review's prevention; same service first, then the
        most relevant. ``exclude`` (incident id, trigger time) leaves out the escalation itself."""
        words = query_words(f"{incident.title}\n{incident.summary}")
        if not words or limit < 1:
            return []
        where = escalations.c.outcome.in_(FINISHED)
        if exclude:
            where = and_(where, ~_key(*exclude))
        query = similar_query(self._engine.dialect.name, words, incident.service, where).limit(limit)
        with self._transaction() as connection:
            rows = connection.execute(query).all()
        return [_similar(_record(row)) for row in rows]

    def _select(
        self, where: ColumnElement[bool], order: ColumnElement[Any], limit: int | None = None
    ) -> list[EscalationRecord]:
        query = select(escalations.c.record, escalations.c.review).where(where).order_by(order).limit(limit)
        with self._transaction() as connection:
            return [_record(row) for row in connection.execute(query)]

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[Connection]:
        with (
            translated(self._url),
            self._engine.connect().execution_options(**{WRITE: write}) as connection,
            connection.begin(),
        ):
            yield connection


def _stamp(moment: datetime) -> str:
    """The key and sort text of a trigger time, exactly as the first version of the store wrote it."""
    return moment.astimezone(UTC).isoformat()


def _key(incident_id: str, triggered_at: datetime) -> ColumnElement[bool]:
    return and_(escalations.c.incident_id == incident_id, escalations.c.triggered_at == _stamp(triggered_at))


def _row(record: EscalationRecord) -> dict[str, Any]:
    return {
        "incident_id": record.incident_id,
        "triggered_at": _stamp(record.triggered_at),
        "service": record.incident.service,
        "severity": record.severity.value,
        "title": record.incident.title,
        "outcome": record.outcome.value,
        "policy_name": record.policy.name,
        "policy_version": record.policy.version,
        "acknowledged_by": record.acknowledged_by,
        "acknowledged_tier": record.acknowledged_tier,
        "resolved_by": record.resolved_by,
        "time_to_acknowledge_seconds": record.time_to_acknowledge_seconds,
        "time_to_resolve_seconds": record.time_to_resolve_seconds,
        "record": record.model_dump_json(exclude={"review"}),
        "summary": record.incident.summary,
        "root_cause": record.resolution.root_cause if record.resolution else "",
        **_review_columns(record.review),
    }


def _review_columns(review: Review | None) -> dict[str, Any]:
    prevention: Sequence[str] = review.submission.prevention if review and review.submission else ()
    return {
        "review": review.model_dump(mode="json") if review else None,
        "review_status": review.status.value if review else None,
        "prevention": "\n".join(prevention),
    }


def _record(row: Row[Any]) -> EscalationRecord:
    record = EscalationRecord.model_validate_json(row.record)
    return record.model_copy(update={"review": Review.model_validate(row.review) if row.review else None})


def _similar(record: EscalationRecord) -> SimilarIncident:
    submission = record.review.submission if record.review else None
    return SimilarIncident(
        incident_id=record.incident_id,
        service=record.incident.service,
        severity=record.severity,
        title=record.incident.title,
        triggered_at=record.triggered_at,
        resolved_by=record.resolved_by,
        root_cause=record.resolution.root_cause if record.resolution else "",
        prevention=list(submission.prevention) if submission else [],
    )
