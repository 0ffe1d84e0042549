"""The shared record store (SQLAlchemy; SQLite or PostgreSQL) and its Alembic migrations."""

from activities.store.engine import OWNER_ONLY_DIR, OWNER_ONLY_FILE, URL_ENV, RecordNotFound, StoreError
from activities.store.store import RecordStore

__all__ = ["OWNER_ONLY_DIR", "OWNER_ONLY_FILE", "URL_ENV", "RecordNotFound", "RecordStore", "StoreError"]
