"""Closing an escalation: the record of what happened is persisted, its review opened, and
everyone it paged told how it ended (``Notices.close``).

The review's rule and tiers come from the policy as this worker has it (the record names the
policy, not its rules); a policy removed since the escalation opened gets the default rule,
and its review may stop at the tiers the escalation reached.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.notices import Notices
from activities.store import RecordStore
from escalation import reviews
from escalation.config import Config
from escalation.learning import review_workflow_id
from escalation.models import ReviewRule
from escalation.state import CLOSE_OUT_ACTIVITY, EscalationRecord


class CloseOut:
    def __init__(
        self,
        store: RecordStore,
        config: Config,
        client: Client,
        task_queue: str,
        notices: Notices | None = None,
    ) -> None:
        """``task_queue``: where review workflows run (a worker registering ``ReviewWorkflow``).
        Without ``notices`` (a worker assembled by hand) nobody is told how it ended."""
        self._store = store
        self._config = config
        self._client = client
        self._task_queue = task_queue
        self._notices = notices

    @activity.defn(name=CLOSE_OUT_ACTIVITY)
    async def close_out(self, record: EscalationRecord) -> None:
        """Save the record (its review pending or not required), then start the review if one is
        required. A retried close-out starts nothing twice: the review's id is the escalation's."""
        saved, review = self._opening(record)
        await asyncio.to_thread(self._store.save, saved)
        if review is not None:
            await self._start_review(review)
        structlog.get_logger().info(
            "closed out",
            incident_id=record.incident_id,
            outcome=record.outcome.value,
            review=saved.review.status.value if saved.review else None,
            time_to_acknowledge_seconds=record.time_to_acknowledge_seconds,
            time_to_resolve_seconds=record.time_to_resolve_seconds,
            database=self._store.location,
        )
        if self._notices:  # after the review opened: its owner's notice carries its link
            await self._notices.close(saved)

    def _opening(self, record: EscalationRecord) -> tuple[EscalationRecord, reviews.ReviewInput | None]:
        roster = self._config.roster.responders
        policy = self._config.policies.get(record.policy.name)
        if policy is not None:
            return reviews.opening(record, policy.review, [tier.name for tier in policy.tiers], roster)
        structlog.get_logger().warning(
            "policy no longer configured: its review follows the default rule",
            incident_id=record.incident_id,
            policy=record.policy.name,
        )
        reached = list(dict.fromkeys(event.tier_name for event in record.timeline if event.tier_name))
        return reviews.opening(record, ReviewRule(), reached, roster)

    async def _start_review(self, review: reviews.ReviewInput) -> None:
        record = review.record
        # A review already ended (submitted or skipped) refuses the start: this is a late retry.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._client.start_workflow(
                reviews.REVIEW_WORKFLOW,
                review,
                id=review_workflow_id(record.incident_id, record.triggered_at),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"review of {record.incident_id}",
            )
