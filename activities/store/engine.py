"""Reaching the record store: SQLite files owner-only, PostgreSQL through psycopg 3, and every
failure said as a configuration problem naming ``ESCALATION_DATABASE_URL`` and the fix, with
the URL's password masked (errors reach logs and, from the close-out, Temporal histories)."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from escalation.config import ConfigError
from escalation.settings import OWNER_ONLY_DIR, OWNER_ONLY_FILE

URL_ENV = "ESCALATION_DATABASE_URL"
EXAMPLES = "sqlite:///path/to/escalations.db or postgresql+psycopg://user:password@host:5432/escalations"
WRITE = "escalation_write"
"""Execution option: this transaction writes, so on SQLite it takes the write lock when it begins
(``BEGIN IMMEDIATE``): concurrent writers, and two processes upgrading at once, wait their turn
(up to the busy timeout) instead of failing halfway."""
SQLITE_BUSY_TIMEOUT_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 10
"""A PostgreSQL host that drops packets fails start-up in seconds instead of TCP's minutes."""


class StoreError(ConfigError):
    """The record store cannot be used as configured; the problem names the setting and the fix."""

    def __init__(self, problem: str) -> None:
        super().__init__([f"{URL_ENV}: {problem}"])


class RecordNotFound(LookupError):
    """No close-out record for this escalation (the review of an escalation never closed out)."""


def database_url(url: str | URL) -> URL:
    """``url`` checked: SQLite with a file, or PostgreSQL (``postgresql://`` means psycopg 3)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL; use {EXAMPLES}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StoreError(f"{parsed.drivername!r} databases are not supported; use {EXAMPLES}")
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise StoreError(f"an in-memory SQLite database keeps nothing; name a file, e.g. {EXAMPLES}")
    return parsed


def masked(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def connect(url: URL) -> Engine:
    """An engine (connecting lazily); ``hide_parameters`` keeps incident text out of its errors."""
    if url.get_backend_name() != "sqlite":
        timeout = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        return create_engine(url, hide_parameters=True, pool_pre_ping=True, connect_args=timeout)
    engine = create_engine(url, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    path = Path(str(url.database))
    event.listen(engine, "do_connect", lambda *_: _create_owner_only(path))
    event.listen(engine, "connect", _sqlite_session)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _create_owner_only(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would apply the umask, often leaving
    it world-readable); SQLite gives its -wal and -shm files the same mode."""
    try:
        path.parent.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, OWNER_ONLY_FILE))
    except OSError as error:
        raise StoreError(
            f"cannot create the SQLite file {path} ({error.strerror}); point {URL_ENV} "
            "(or ESCALATION_DATABASE) at a place this user may write"
        ) from None


def _sqlite_session(dbapi_connection: Any, _record: object) -> None:
    """WAL lets readers read while the worker writes; SQLAlchemy, not the sqlite3 module, begins
    transactions (the module's own handling commits DDL early, breaking transactional upgrades).

    Switching a new file to WAL needs it to itself, and SQLite answers "database is locked" at once
    (no busy wait) while another process opening it does the same: so try again, within the busy
    timeout. A file already in WAL answers without a lock."""
    dbapi_connection.isolation_level = None
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=wal")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get(WRITE)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


@contextmanager
def translated(url: URL) -> Iterator[None]:
    """Database errors as ``StoreError``: what failed (the driver's first line, never the SQL or
    its parameters) and what to do about it."""
    try:
        yield
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        if url.password:
            reason = reason.replace(url.password, "***")
        if _not_set_up(error):
            fix = "create its tables with: escalate db upgrade (the worker and `escalate up` do it at start)"
        else:
            fix = f"check that the database is running and reachable, and {URL_ENV} (or ESCALATION_DATABASE)"
        raise StoreError(f"the record store at {masked(url)} failed: {reason}; {fix}") from None


def _not_set_up(error: DBAPIError) -> bool:
    text = str(error.orig)
    return "no such table" in text or getattr(error.orig, "sqlstate", None) == "42P01"  # undefined_table
