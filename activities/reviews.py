"""The review workflow's one write: the review's state into the escalation's record."""

from __future__ import annotations

import asyncio

from temporalio import activity

from activities.store import RecordStore
from escalation.reviews import SET_REVIEW_ACTIVITY, ReviewUpdate


class ReviewRecords:
    def __init__(self, store: RecordStore) -> None:
        self._store = store

    @activity.defn(name=SET_REVIEW_ACTIVITY)
    async def set_review(self, update: ReviewUpdate) -> None:
        store = self._store
        await asyncio.to_thread(store.set_review, update.incident_id, update.triggered_at, update.review)
