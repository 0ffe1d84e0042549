"""Paging a ladder step from the workflow: the notify activity, its bounds, and pages in flight.

A page never stalls the ladder: it is bounded by half the step's wait, and when the ladder
moves to another step meanwhile (escalate-now, a severity raise) the new step is paged at
once while the old page finishes in the background, its outcome still recorded against its
own step. Close-out and continue-as-new wait for pages still in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from escalation import ladder
    from escalation.models import EscalationPolicy, Incident
    from escalation.state import NOTIFY_ACTIVITY, EscalationState, NotifyRequest, NotifyResult, Step

NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))
NOTIFY_HEARTBEAT = timedelta(seconds=10)
PAGE_NEW_STEP_AT_ONCE = "page-new-step-at-once"
REACHED_BEFORE_NOTIFY_TIMEOUT = "reached-before-notify-timeout"


def _delivered_before(error: ActivityError) -> list[str]:
    """The message keys a timed-out notify activity had reported delivered in its heartbeats."""
    cause = error.cause
    if isinstance(cause, ActivityTimeoutError) and cause.last_heartbeat_details:
        keys = cause.last_heartbeat_details[0]
        return [str(key) for key in keys] if isinstance(keys, list) else []
    return []


class Pager:
    """Pages steps of one escalation and records each outcome in its state."""

    def __init__(
        self,
        incident: Incident,
        policy: EscalationPolicy,
        state: EscalationState,
        on_page: Callable[[], None],
    ) -> None:
        self._incident = incident
        self._policy = policy
        self._state = state
        self._on_page = on_page
        self._in_flight: set[asyncio.Task[bool]] = set()

    async def page(self, step: Step, wait: timedelta, page: int, targets: list[str]) -> bool:
        """Page ``targets`` for ``step``; True if someone was reached. Stops waiting if the ladder moves
        meanwhile."""
        budget = ladder.notify_budget(wait)
        if not workflow.patched(PAGE_NEW_STEP_AT_ONCE):
            return await self._notify(step, budget, page, targets)
        paging = asyncio.create_task(self._notify(step, budget, page, targets))
        self._in_flight.add(paging)
        paging.add_done_callback(self._finished)
        await workflow.wait_condition(lambda: paging.done() or self._state.step != step)
        return paging.done() and paging.result()

    def _finished(self, paging: asyncio.Task[bool]) -> None:
        """Its outcome is in the timeline now; a page finishing in the background updates the Web UI."""
        self._in_flight.discard(paging)
        self._on_page()

    async def all_finished(self) -> None:
        """Before closing out or continuing as new: wait for pages the ladder moved on from."""
        if self._in_flight:
            await workflow.wait_condition(lambda: not self._in_flight)

    async def _notify(self, step: Step, budget: timedelta, page: int, targets: list[str]) -> bool:
        """Run the notify activity; True if at least one target was reached on at least one channel.

        The activity retries each failed delivery itself and reports per responder and channel.
        Temporal retries it only when a worker dies mid-page (missed heartbeats); the heartbeat
        records what was already delivered so the new attempt sends only the rest.
        """
        info = workflow.info()
        tier = self._policy.tiers[step.tier]
        request = NotifyRequest(
            incident_id=info.workflow_id,
            idempotency_key=ladder.idempotency_key(info.workflow_id, info.first_execution_run_id, step, page),
            triggered_at=self._state.triggered_at,
            incident=self._incident,
            severity=self._state.severity,
            tier_name=tier.name,
            phase=step.phase,
            round=step.round,
            targets=targets,
            channels=tier.channels,
            deadline=self._state.next_deadline or workflow.now(),
            deliver_within=ladder.delivery_bound(budget),
            first_page=page == 1,
        )
        channels = ", ".join(c.value for c in tier.channels) if tier.channels else "their own channels"
        try:
            result = await workflow.execute_activity(
                NOTIFY_ACTIVITY,
                request,
                result_type=NotifyResult,
                schedule_to_close_timeout=budget,
                heartbeat_timeout=min(NOTIFY_HEARTBEAT, budget),
                retry_policy=NOTIFY_RETRY,
                summary=f"notify tier {tier.name} ({step.phase.value}): {', '.join(targets)} via {channels}",
            )
        except ActivityError as error:
            delivered = _delivered_before(error)
            reason = str(error.cause or error)
            if delivered:
                reason += f" after delivering {len(delivered)} message(s)"
            ladder.record_notify_failed(self._state, self._policy, step, targets, reason, workflow.now())
            # Someone got the page before the activity timed out: wait for them, do not skip ahead.
            return bool(delivered) and workflow.patched(REACHED_BEFORE_NOTIFY_TIMEOUT)
        ladder.record_notified(self._state, self._policy, step, result, workflow.now())
        return any(delivery.delivered for delivery in result.deliveries)
