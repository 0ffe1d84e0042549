"""Closing an escalation: the record of what happened and what was learned is persisted, then
everyone it paged hears how it ended (``Notices.close``)."""

from __future__ import annotations

import asyncio

import structlog
from temporalio import activity

from activities.notices import Notices
from activities.records import RecordStore
from escalation.state import CLOSE_OUT_ACTIVITY, EscalationRecord


class CloseOut:
    def __init__(self, store: RecordStore, notices: Notices | None = None) -> None:
        """Without ``notices`` (a worker assembled by hand) the record is saved and nobody told."""
        self._store = store
        self._notices = notices

    @activity.defn(name=CLOSE_OUT_ACTIVITY)
    async def close_out(self, record: EscalationRecord) -> None:
        await asyncio.to_thread(self._store.save, record)
        structlog.get_logger().info(
            "closed out",
            incident_id=record.incident_id,
            outcome=record.outcome.value,
            time_to_acknowledge_seconds=record.time_to_acknowledge_seconds,
            time_to_resolve_seconds=record.time_to_resolve_seconds,
            database=str(self._store.path),
        )
        if self._notices:
            await self._notices.close(record)
