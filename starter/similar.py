"""``escalate similar ID`` and ``GET /v1/incidents/{id}/similar``: the past incidents most like
an incident's latest escalation.

The escalation itself (running, or kept by Temporal after it closed) says what the incident
is; one the server no longer keeps is read from its close-out record. The record store then
finds the similar ones, as it did for the escalation's first page, but as of now.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from typing import TYPE_CHECKING

from activities.knowledge import SIMILAR_LIMIT
from escalation.learning import SimilarIncident
from escalation.models import Incident
from escalation.reports import headline, similar_text
from escalation.settings import Settings
from escalation.text import for_terminal
from starter.api import Escalations, UnknownIncidentError

if TYPE_CHECKING:
    from activities.store import RecordStore


async def similar_incidents(
    escalations: Escalations, store: RecordStore, incident_id: str
) -> tuple[Incident, list[SimilarIncident]]:
    """The incident of ``incident_id``'s latest escalation, and the past incidents most like it."""
    incident, triggered_at = await _latest(escalations, incident_id, store)
    exclude = (incident_id, triggered_at) if triggered_at else None
    found = await asyncio.to_thread(store.similar, incident, limit=SIMILAR_LIMIT, exclude=exclude)
    return incident, [
        past.model_copy(update={"link": escalations.ui_url(past.incident_id)}) for past in found
    ]


async def _latest(
    escalations: Escalations, incident_id: str, store: RecordStore
) -> tuple[Incident, datetime | None]:
    try:
        view = await escalations.status(incident_id)
    except UnknownIncidentError:
        record = await asyncio.to_thread(store.latest, incident_id)
        if record is None:
            raise UnknownIncidentError(
                f"no incident {incident_id!r} in Temporal or the record store; "
                "check the id printed by 'escalate trigger'"
            ) from None
        return record.incident, record.triggered_at
    return view.incident, view.triggered_at


async def _similar(args: argparse.Namespace, settings: Settings) -> None:
    from activities.store import RecordStore  # imported on use (see starter/cli.py)

    escalations = await Escalations.connect(settings)
    incident, found = await similar_incidents(
        escalations, RecordStore.from_settings(settings), args.incident_id
    )
    if args.json:
        print(json.dumps([past.model_dump(mode="json") for past in found], indent=2))
        return
    lines = [f"similar to {args.incident_id}  {headline(incident)}", *similar_text(found)]
    print(for_terminal("\n".join(lines), multiline=True))


def add_command(commands: argparse._SubParsersAction) -> None:
    similar = commands.add_parser("similar", help="show past incidents like an incident, from the records")
    similar.add_argument("incident_id")
    similar.add_argument("--json", action="store_true", help="print them as JSON")
    similar.set_defaults(run=_similar)
