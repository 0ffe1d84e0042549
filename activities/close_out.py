"""Closing an escalation: the record of what happened and what was learned is persisted."""

from __future__ import annotations

import asyncio

import structlog
from temporalio import activity

from activities.store import RecordStore
from escalation.state import CLOSE_OUT_ACTIVITY, EscalationRecord


class CloseOut:
    def __init__(self, store: RecordStore) -> None:
        self._store = store

    @activity.defn(name=CLOSE_OUT_ACTIVITY)
    async def close_out(self, record: EscalationRecord) -> None:
        await asyncio.to_thread(self._store.save, record)
        structlog.get_logger().info(
            "closed out",
            incident_id=record.incident_id,
            outcome=record.outcome.value,
            time_to_acknowledge_seconds=record.time_to_acknowledge_seconds,
            time_to_resolve_seconds=record.time_to_resolve_seconds,
            database=self._store.location,
        )
