"""``escalate db upgrade``: create or migrate the record store's tables.

The worker and ``escalate up`` upgrade at start; this is for doing it ahead of them, e.g. as
a deployment step with a database user allowed to change tables.
"""

from __future__ import annotations

import argparse
import asyncio

from escalation.settings import Settings
from escalation.text import for_terminal


def add_db_command(commands: argparse._SubParsersAction) -> None:
    database = commands.add_parser("db", help="manage the record store (ESCALATION_DATABASE_URL)")
    actions = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="create or migrate its tables to this version")
    upgrade.set_defaults(run=upgrade_database)


async def upgrade_database(args: argparse.Namespace, settings: Settings) -> None:
    from activities.store import RecordStore  # imported on use (see starter/cli.py)

    store = RecordStore.from_settings(settings)
    await asyncio.to_thread(store.upgrade)
    revision = await asyncio.to_thread(store.revision)
    print(for_terminal(f"{store.location}: up to date (schema revision {revision})"))
