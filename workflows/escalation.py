"""The escalation workflow: one durable run per incident, a thin loop over ``escalation.ladder``.

Every responder action of ``escalation.actions`` is registered here by name, as a validated
update and as a signal: a refused update never enters history, a refused signal is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalation import ladder, permissions
    from escalation.actions import Action, ActionRequest
    from escalation.reports import current_details
    from escalation.state import (
        CLOSE_OUT_ACTIVITY,
        STATUS_QUERY,
        ActionResult,
        EscalationInput,
        EscalationRecord,
        Occurrence,
        OccurrenceRequest,
        Status,
        StatusView,
    )
    from workflows import visibility
    from workflows.deadlines import deadline_passed, history_is_long
    from workflows.handlers import register_actions
    from workflows.paging import Pager
    from workflows.targets import resolve_targets

CLOSE_OUT_ATTEMPT_LIMIT = timedelta(seconds=30)


@workflow.defn(name="Escalation")
class EscalationWorkflow:
    @workflow.init
    def __init__(self, start: EscalationInput) -> None:
        self._start = start
        self._policy = start.policy
        self._state = (
            start.state.model_copy(deep=True) if start.state else ladder.begin(start, workflow.now())
        )
        self._published: tuple[object, ...] = ()
        self._pager = Pager(start.incident, start.policy, self._state, self._publish)
        register_actions(self._refusal, self._apply)

    @workflow.run
    async def run(self, start: EscalationInput) -> EscalationRecord:
        self._publish()
        while self._state.is_open:
            if self._history_is_long():
                await self._pager.all_finished()
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._start.model_copy(update={"state": self._state}))
            if self._state.status is Status.TRIGGERED:
                await self._page_current_step()
            elif self._state.status is Status.ACKNOWLEDGED:
                await self._hold_acknowledged()
            else:
                await workflow.wait_condition(
                    lambda: self._state.status is not Status.EXHAUSTED or self._history_is_long()
                )
            self._publish()
        await self._pager.all_finished()
        record = ladder.record(workflow.info().workflow_id, self._start, self._state)
        await workflow.execute_activity(
            CLOSE_OUT_ACTIVITY,
            record,
            start_to_close_timeout=CLOSE_OUT_ATTEMPT_LIMIT,
            summary=f"close out: {record.outcome.value} by {record.resolved_by}",
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return record

    async def _page_current_step(self) -> None:
        """Page the step's targets (unless a previous run did), then wait out the step.

        The deadline is set before paging, so a slow notification eats into the wait instead
        of stretching the step beyond the policy's timeout.
        """
        step = self._state.step
        if self._state.next_deadline is None:
            wait = ladder.wait_time(self._policy, self._state.severity, step)
            targets = ladder.targets(self._policy, step)
            if ladder.has_schedules(targets):
                resolved = await resolve_targets(targets, ladder.notify_budget(wait))
                if self._state.status is not Status.TRIGGERED or self._state.step != step:
                    return  # acknowledged or moved on while the schedules were read
                targets = ladder.record_on_call(self._state, self._policy, resolved, workflow.now())
                if not targets:
                    return  # skipped: nobody on call
            page = ladder.paging_until(self._state, workflow.now() + wait)
            self._publish()
            reached = await self._pager.page(step, wait, page, targets)
            if not reached and self._state.status is Status.TRIGGERED and self._state.step == step:
                ladder.time_out(
                    self._state, self._policy, workflow.now(), "nobody on this step could be reached"
                )
                return
        if await self._deadline_passed(
            lambda: self._state.status is Status.TRIGGERED and self._state.step == step,
            f"await acknowledgement from {', '.join(ladder.current_targets(self._policy, self._state))}",
        ):
            ladder.time_out(self._state, self._policy, workflow.now())

    async def _hold_acknowledged(self) -> None:
        if await self._deadline_passed(
            lambda: self._state.status is Status.ACKNOWLEDGED,
            f"resolve deadline for {self._state.acknowledged_by}",
        ):
            ladder.resolve_overdue(self._state, self._policy, workflow.now())

    async def _deadline_passed(self, unchanged: Callable[[], bool], summary: str) -> bool:
        return await deadline_passed(
            unchanged, lambda: self._state.next_deadline, self._history_is_long, summary
        )

    def _history_is_long(self) -> bool:
        return history_is_long(self._start.history_limit)

    def _publish(self) -> None:
        """Search attributes (upserted only when one changes) and the Web UI's current details,
        which carry the report in runs continued as new: those have no static details."""
        state = self._state
        indexed = (state.status, state.step.tier, state.severity, state.acknowledged_by)
        if indexed != self._published:
            self._published = indexed
            workflow.upsert_search_attributes(visibility.updates(self._start.incident, state))
        workflow.set_current_details(
            current_details(self.status(), with_report=self._start.state is not None)
        )

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> StatusView:
        return ladder.view(workflow.info().workflow_id, self._start, self._state)

    def _refusal(self, action: Action, request: ActionRequest) -> str | None:
        return action.refusal(self._state, self._policy, request)

    def _apply(self, action: Action, request: ActionRequest) -> ActionResult:
        action.perform(self._state, self._policy, request, workflow.now())
        self._publish()
        return ladder.summary(workflow.info().workflow_id, self._start, self._state)

    @workflow.update
    def trigger(self, request: OccurrenceRequest) -> Occurrence:
        """Sent with every trigger (update-with-start): the opener's is a no-op, others repeat."""
        duplicate = request.trigger_id != self._start.trigger_id
        if duplicate:
            ladder.repeat_occurrence(self._state, self._policy, request, workflow.now())
            self._publish()
        incident_id, occurrences = workflow.info().workflow_id, self._state.occurrences
        return Occurrence(incident_id=incident_id, deduplicated=duplicate, occurrences=occurrences)

    @trigger.validator
    def _validate_trigger(self, request: OccurrenceRequest) -> None:
        if reason := permissions.occurrence_refusal(self._state, self._policy, request):
            raise ValueError(reason)
