"""The escalation workflow: one durable run per incident, a thin loop over ``escalation.ladder``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalation import ladder, permissions, visibility
    from escalation.reports import current_details
    from escalation.state import (
        CLOSE_OUT_ACTIVITY,
        NOTIFY_ACTIVITY,
        AcknowledgeRequest,
        EscalationInput,
        EscalationRecord,
        NotifyRequest,
        NotifyResult,
        ResolveRequest,
        Status,
        StatusView,
    )

NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))
NOTIFY_ATTEMPT_LIMIT = timedelta(seconds=30)
NOTIFY_TOTAL_LIMIT = timedelta(minutes=2)
CLOSE_OUT_ATTEMPT_LIMIT = timedelta(seconds=30)


def notify_budget(wait: timedelta) -> timedelta:
    """Total time a page may take, retries included: half the step's wait, so it never stalls it."""
    return min(max(wait / 2, timedelta(seconds=1)), NOTIFY_TOTAL_LIMIT)


@workflow.defn(name="Escalation")
class EscalationWorkflow:
    @workflow.init
    def __init__(self, start: EscalationInput) -> None:
        self._start = start
        self._policy = start.policy
        self._state = ladder.begin(start, workflow.now())
        self._published: tuple[object, ...] = ()

    @workflow.run
    async def run(self, start: EscalationInput) -> EscalationRecord:
        self._publish()
        while self._state.is_open:
            if self._state.status is Status.TRIGGERED:
                await self._page_current_step()
            elif self._state.status is Status.ACKNOWLEDGED:
                await self._hold_acknowledged()
            else:
                await workflow.wait_condition(lambda: self._state.status is not Status.EXHAUSTED)
            self._publish()
        record = ladder.record(self._incident_id, self._start, self._state)
        await workflow.execute_activity(
            CLOSE_OUT_ACTIVITY,
            record,
            start_to_close_timeout=CLOSE_OUT_ATTEMPT_LIMIT,
            summary=f"close out: {record.outcome.value} by {record.resolved_by}",
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return record

    # --- the ladder ------------------------------------------------------------------

    async def _page_current_step(self) -> None:
        """Page the step's targets, then wait out the rest of the step's time for an answer.

        The deadline is set before paging, so a slow notification eats into the wait
        instead of stretching the step beyond the policy's timeout.
        """
        step = self._state.step
        wait = ladder.wait_time(self._policy, self._state.severity, step)
        deadline = workflow.now() + wait
        ladder.paging_until(self._state, deadline)
        self._publish()
        await self._notify(deadline, notify_budget(wait))
        if self._state.status is not Status.TRIGGERED or self._state.step != step:
            return
        answered = await self._until(
            lambda: self._state.status is not Status.TRIGGERED or self._state.step != step,
            max(deadline - workflow.now(), timedelta(seconds=1)),
            f"await acknowledgement from {', '.join(ladder.targets(self._policy, step))}",
        )
        if not answered:
            ladder.time_out(self._state, self._policy, workflow.now())

    async def _hold_acknowledged(self) -> None:
        deadline = self._state.next_deadline
        if deadline is None:
            await workflow.wait_condition(lambda: self._state.status is not Status.ACKNOWLEDGED)
            return
        resolved = await self._until(
            lambda: self._state.status is not Status.ACKNOWLEDGED,
            max(deadline - workflow.now(), timedelta(seconds=1)),
            f"resolve deadline for {self._state.acknowledged_by}",
        )
        if not resolved:
            ladder.resolve_overdue(self._state, self._policy, workflow.now())

    async def _notify(self, deadline: datetime, budget: timedelta) -> None:
        step = self._state.step
        tier = self._policy.tiers[step.tier]
        targets = ladder.targets(self._policy, step)
        request = NotifyRequest(
            incident_id=self._incident_id,
            idempotency_key=ladder.idempotency_key(self._incident_id, step),
            incident=self._start.incident,
            tier_name=tier.name,
            phase=step.phase,
            targets=targets,
            channels=list(tier.channels),
            deadline=deadline,
        )
        channels = ", ".join(c.value for c in tier.channels)
        try:
            result = await workflow.execute_activity(
                NOTIFY_ACTIVITY,
                request,
                result_type=NotifyResult,
                start_to_close_timeout=min(NOTIFY_ATTEMPT_LIMIT, budget),
                schedule_to_close_timeout=budget,
                retry_policy=NOTIFY_RETRY,
                summary=f"notify tier {tier.name} ({step.phase.value}): {', '.join(targets)} via {channels}",
            )
        except ActivityError as error:
            reason = str(error.cause or error)
            ladder.record_notify_failed(self._state, self._policy, targets, reason, workflow.now())
            return
        ladder.record_notified(self._state, self._policy, result, workflow.now())

    @staticmethod
    async def _until(condition: Callable[[], bool], timeout: timedelta, summary: str) -> bool:
        """Wait for ``condition``; False if the timeout fired first."""
        try:
            await workflow.wait_condition(condition, timeout=timeout, timeout_summary=summary)
        except TimeoutError:
            return False
        return True

    # --- what operators see ----------------------------------------------------------

    @property
    def _incident_id(self) -> str:
        return workflow.info().workflow_id

    def _publish(self) -> None:
        """Keep search attributes and the Web UI's current details in step with the state.

        Search attributes are upserted (an event in history) only when one of them changes;
        current details live outside history and are simply replaced.
        """
        state = self._state
        indexed = (state.status, state.step.tier, state.acknowledged_by)
        if indexed != self._published:
            self._published = indexed
            workflow.upsert_search_attributes(visibility.updates(self._start.incident, state))
        workflow.set_current_details(current_details(self._view()))

    def _view(self) -> StatusView:
        return ladder.view(self._incident_id, self._start, self._state)

    @workflow.query
    def status(self) -> StatusView:
        return self._view()

    # --- responder actions: updates (validated, answered) and signals (fire and forget)

    def _apply(self, transition: Callable[..., None], request: object) -> StatusView:
        transition(self._state, self._policy, request, workflow.now())
        self._publish()
        return self._view()

    @workflow.update
    def acknowledge(self, request: AcknowledgeRequest) -> StatusView:
        return self._apply(ladder.acknowledge, request)

    @acknowledge.validator
    def _validate_acknowledge(self, request: AcknowledgeRequest) -> None:
        if reason := permissions.acknowledge_refusal(self._policy, self._state, request):
            raise ValueError(reason)

    @workflow.signal(name="acknowledge")
    def acknowledge_signal(self, request: AcknowledgeRequest) -> None:
        if reason := permissions.acknowledge_refusal(self._policy, self._state, request):
            workflow.logger.warning("acknowledge signal ignored: %s", reason)
            return
        self._apply(ladder.acknowledge, request)

    @workflow.update
    def resolve(self, request: ResolveRequest) -> StatusView:
        return self._apply(ladder.resolve, request)

    @resolve.validator
    def _validate_resolve(self, request: ResolveRequest) -> None:
        if reason := permissions.resolve_refusal(self._policy, self._state, request):
            raise ValueError(reason)

    @workflow.signal(name="resolve")
    def resolve_signal(self, request: ResolveRequest) -> None:
        if reason := permissions.resolve_refusal(self._policy, self._state, request):
            workflow.logger.warning("resolve signal ignored: %s", reason)
            return
        self._apply(ladder.resolve, request)
