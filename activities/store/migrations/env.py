"""Runs the record store's migrations on the connection ``RecordStore.upgrade`` hands over, inside
its transaction and under its lock: there is no alembic.ini, and nothing here connects by itself."""

from alembic import context

context.configure(connection=context.config.attributes["connection"], target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
