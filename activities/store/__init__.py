"""The shared record store (SQLAlchemy; SQLite or PostgreSQL) and its Alembic migrations."""

from activities.store.engine import URL_ENV, RecordNotFound, StoreError
from activities.store.store import RecordStore

__all__ = ["URL_ENV", "RecordNotFound", "RecordStore", "StoreError"]
