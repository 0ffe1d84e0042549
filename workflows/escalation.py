"""The escalation workflow: one durable run per incident, a thin loop over ``escalation.ladder``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from escalation import actions, ladder, permissions, visibility
    from escalation.actions import Action
    from escalation.durations import MINIMUM
    from escalation.reports import current_details
    from escalation.state import (
        CLOSE_OUT_ACTIVITY,
        NOTIFY_ACTIVITY,
        AcknowledgeRequest,
        ActionResult,
        CancelRequest,
        EscalateRequest,
        EscalationInput,
        EscalationRecord,
        Message,
        NoteRequest,
        NotifyRequest,
        NotifyResult,
        Occurrence,
        OccurrenceRequest,
        ReassignRequest,
        ResolveRequest,
        SeverityRequest,
        Status,
        StatusView,
        Step,
    )

NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))
NOTIFY_TOTAL_LIMIT = timedelta(minutes=2)
NOTIFY_HEARTBEAT = timedelta(seconds=10)
CLOSE_OUT_ATTEMPT_LIMIT = timedelta(seconds=30)
PAGE_NEW_STEP_AT_ONCE = "page-new-step-at-once"


def notify_budget(wait: timedelta) -> timedelta:
    """Total time a page may take, retries included: half the step's wait, so it never stalls it."""
    return min(max(wait / 2, MINIMUM), NOTIFY_TOTAL_LIMIT)


def delivery_bound(budget: timedelta) -> timedelta:
    """What the notify activity spends on deliveries, leaving a fifth of the budget to report back."""
    return budget * 4 / 5


def _delivered_before(error: ActivityError) -> list[str]:
    """The message keys a timed-out notify activity had reported delivered in its heartbeats."""
    cause = error.cause
    if isinstance(cause, ActivityTimeoutError) and cause.last_heartbeat_details:
        keys = cause.last_heartbeat_details[0]
        return [str(key) for key in keys] if isinstance(keys, list) else []
    return []


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
        self._pages_in_flight: set[asyncio.Task[bool]] = set()

    @workflow.run
    async def run(self, start: EscalationInput) -> EscalationRecord:
        self._publish()
        while self._state.is_open:
            if self._history_is_long():
                await self._pages_finished()
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
        await self._pages_finished()
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
        """Page the step's targets (unless a previous run did), then wait out the step.

        The deadline is set before paging, so a slow notification eats into the wait instead
        of stretching the step beyond the policy's timeout.
        """
        step = self._state.step
        if self._state.next_deadline is None:
            wait = ladder.wait_time(self._policy, self._state.severity, step)
            page = ladder.paging_until(self._state, workflow.now() + wait)
            self._publish()
            reached = await self._page(step, notify_budget(wait), page)
            if not reached and self._state.status is Status.TRIGGERED and self._state.step == step:
                ladder.time_out(
                    self._state, self._policy, workflow.now(), "nobody on this step could be reached"
                )
                return
        waiting_for = ", ".join(ladder.targets(self._policy, step))
        if await self._deadline_passed(
            lambda: self._state.status is Status.TRIGGERED and self._state.step == step,
            f"await acknowledgement from {waiting_for}",
        ):
            ladder.time_out(self._state, self._policy, workflow.now())

    async def _hold_acknowledged(self) -> None:
        if await self._deadline_passed(
            lambda: self._state.status is Status.ACKNOWLEDGED,
            f"resolve deadline for {self._state.acknowledged_by}",
        ):
            ladder.resolve_overdue(self._state, self._policy, workflow.now())

    async def _deadline_passed(self, unchanged: Callable[[], bool], summary: str) -> bool:
        """Wait while nothing changes; True once ``next_deadline`` passes.

        The deadline may move meanwhile (a severity change rescales it); the wait follows it.
        False when something else happened first, or the history needs a fresh run.
        """
        while unchanged() and not self._history_is_long():
            deadline = self._state.next_deadline
            if deadline is None:
                await workflow.wait_condition(
                    lambda: (
                        not unchanged() or self._state.next_deadline is not None or self._history_is_long()
                    )
                )
                continue
            try:
                await workflow.wait_condition(
                    lambda d=deadline: (
                        not unchanged() or self._state.next_deadline != d or self._history_is_long()
                    ),
                    timeout=max(deadline - workflow.now(), MINIMUM),
                    timeout_summary=summary,
                )
            except TimeoutError:
                return unchanged()
        return False

    async def _page(self, step: Step, budget: timedelta, page: int) -> bool:
        """Page ``step``; stop waiting for the outcome if the ladder moves to another step meanwhile.

        The new step is then paged at once while this page finishes in the background; its
        outcome is still recorded against ``step``. A resolve or cancel does not move the
        step, so the page finishes first and the record says who was reached.
        """
        if not workflow.patched(PAGE_NEW_STEP_AT_ONCE):
            return await self._notify(step, budget, page)
        paging = asyncio.create_task(self._notify(step, budget, page))
        self._pages_in_flight.add(paging)
        paging.add_done_callback(self._page_finished)
        await workflow.wait_condition(lambda: paging.done() or self._state.step != step)
        return paging.done() and paging.result()

    def _page_finished(self, paging: asyncio.Task[bool]) -> None:
        """Its outcome is in the timeline now; a page finishing in the background updates the Web UI."""
        self._pages_in_flight.discard(paging)
        self._publish()

    async def _pages_finished(self) -> None:
        """Before closing out or continuing as new: wait for pages the ladder moved on from."""
        if self._pages_in_flight:
            await workflow.wait_condition(lambda: not self._pages_in_flight)

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._start.history_limit
        )

    async def _notify(self, step: Step, budget: timedelta, page: int) -> bool:
        """Page ``step``; True if at least one target was reached on at least one channel.

        The activity retries each failed delivery itself and reports per responder and channel.
        Temporal retries it only when a worker dies mid-page (missed heartbeats); the heartbeat
        records what was already delivered so the new attempt sends only the rest.
        """
        tier = self._policy.tiers[step.tier]
        targets = ladder.targets(self._policy, step)
        deadline = self._state.next_deadline or workflow.now()
        request = NotifyRequest(
            incident_id=self._incident_id,
            idempotency_key=ladder.idempotency_key(
                self._incident_id, workflow.info().first_execution_run_id, step, page
            ),
            incident=self._start.incident,
            severity=self._state.severity,
            tier_name=tier.name,
            phase=step.phase,
            round=step.round,
            targets=targets,
            channels=tier.channels,
            deadline=deadline,
            deliver_within=delivery_bound(budget),
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
            ladder.record_notify_failed(self._state, self._policy, step, reason, workflow.now())
            # Someone got the page before the activity timed out: wait for them, do not skip ahead.
            return bool(delivered) and workflow.patched("reached-before-notify-timeout")
        ladder.record_notified(self._state, self._policy, step, result, workflow.now())
        return any(delivery.delivered for delivery in result.deliveries)

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
        indexed = (state.status, state.step.tier, state.severity, state.acknowledged_by)
        if indexed != self._published:
            self._published = indexed
            workflow.upsert_search_attributes(visibility.updates(self._start.incident, state))
        # Continue-as-new cannot set the static summary and details: later runs show the report here.
        continued = self._start.state is not None
        workflow.set_current_details(current_details(self._view(), with_report=continued))

    def _view(self) -> StatusView:
        return ladder.view(self._incident_id, self._start, self._state)

    @workflow.query
    def status(self) -> StatusView:
        return self._view()

    # --- responder actions: validated updates, and signals of the same name ----------

    def _refusal(self, action: Action, request: Message) -> str | None:
        return action.refusal(self._policy, self._state, request)

    def _check(self, action: Action, request: Message) -> None:
        if reason := self._refusal(action, request):
            raise ValueError(reason)

    def _act(self, action: Action, request: Message) -> ActionResult:
        action.apply(self._state, self._policy, request, workflow.now())
        self._publish()
        return ladder.summary(self._incident_id, self._start, self._state)

    def _act_on_signal(self, action: Action, request: Message) -> None:
        if reason := self._refusal(action, request):
            workflow.logger.warning("%s signal ignored: %s", action.name, reason)
            return
        self._act(action, request)

    @workflow.update
    def acknowledge(self, request: AcknowledgeRequest) -> ActionResult:
        return self._act(actions.ACKNOWLEDGE, request)

    @acknowledge.validator
    def _validate_acknowledge(self, request: AcknowledgeRequest) -> None:
        self._check(actions.ACKNOWLEDGE, request)

    @workflow.signal(name="acknowledge")
    def acknowledge_signal(self, request: AcknowledgeRequest) -> None:
        self._act_on_signal(actions.ACKNOWLEDGE, request)

    @workflow.update
    def resolve(self, request: ResolveRequest) -> ActionResult:
        return self._act(actions.RESOLVE, request)

    @resolve.validator
    def _validate_resolve(self, request: ResolveRequest) -> None:
        self._check(actions.RESOLVE, request)

    @workflow.signal(name="resolve")
    def resolve_signal(self, request: ResolveRequest) -> None:
        self._act_on_signal(actions.RESOLVE, request)

    @workflow.update
    def escalate(self, request: EscalateRequest) -> ActionResult:
        return self._act(actions.ESCALATE, request)

    @escalate.validator
    def _validate_escalate(self, request: EscalateRequest) -> None:
        self._check(actions.ESCALATE, request)

    @workflow.signal(name="escalate")
    def escalate_signal(self, request: EscalateRequest) -> None:
        self._act_on_signal(actions.ESCALATE, request)

    @workflow.update
    def note(self, request: NoteRequest) -> ActionResult:
        return self._act(actions.NOTE, request)

    @note.validator
    def _validate_note(self, request: NoteRequest) -> None:
        self._check(actions.NOTE, request)

    @workflow.signal(name="note")
    def note_signal(self, request: NoteRequest) -> None:
        self._act_on_signal(actions.NOTE, request)

    @workflow.update
    def change_severity(self, request: SeverityRequest) -> ActionResult:
        return self._act(actions.CHANGE_SEVERITY, request)

    @change_severity.validator
    def _validate_change_severity(self, request: SeverityRequest) -> None:
        self._check(actions.CHANGE_SEVERITY, request)

    @workflow.signal(name="change_severity")
    def change_severity_signal(self, request: SeverityRequest) -> None:
        self._act_on_signal(actions.CHANGE_SEVERITY, request)

    @workflow.update
    def reassign(self, request: ReassignRequest) -> ActionResult:
        return self._act(actions.REASSIGN, request)

    @reassign.validator
    def _validate_reassign(self, request: ReassignRequest) -> None:
        self._check(actions.REASSIGN, request)

    @workflow.signal(name="reassign")
    def reassign_signal(self, request: ReassignRequest) -> None:
        self._act_on_signal(actions.REASSIGN, request)

    @workflow.update
    def cancel(self, request: CancelRequest) -> ActionResult:
        return self._act(actions.CANCEL, request)

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._check(actions.CANCEL, request)

    @workflow.signal(name="cancel")
    def cancel_signal(self, request: CancelRequest) -> None:
        self._act_on_signal(actions.CANCEL, request)

    # --- duplicate triggers --------------------------------------------------------------

    @workflow.update
    def trigger(self, request: OccurrenceRequest) -> Occurrence:
        """Sent with every trigger (update-with-start): the opener's is a no-op, others repeat."""
        duplicate = request.trigger_id != self._start.trigger_id
        if duplicate:
            ladder.repeat_occurrence(self._state, self._policy, request, workflow.now())
            if request.severity and ladder.more_urgent(request.severity, self._state.severity):
                raise_to = SeverityRequest(
                    responder=request.source or "trigger",
                    severity=request.severity,
                    reason="triggered again at a more urgent severity",
                )
                ladder.change_severity(self._state, self._policy, raise_to, workflow.now())
            self._publish()
        return Occurrence(
            incident_id=self._incident_id, deduplicated=duplicate, occurrences=self._state.occurrences
        )

    @trigger.validator
    def _validate_trigger(self, request: OccurrenceRequest) -> None:
        if reason := permissions.occurrence_refusal(self._policy, self._state, request):
            raise ValueError(reason)
