"""The Python API a service uses to open escalations and responders use to answer them.

escalations = await Escalations.connect()
opened = await escalations.trigger(incident)
await escalations.act(opened.incident_id, "acknowledge", {"responder": "ana"})
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    QueryRejectCondition,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from escalation.actions import Action, ActionRequest, named
from escalation.config import Config, load_config, validation_problems
from escalation.durations import format_duration
from escalation.learning import Review, ReviewStatus, review_workflow_id
from escalation.models import Incident, Severity, service_id
from escalation.replies import Booked, reply_codes_id
from escalation.reports import headline, report_markdown, web_ui_url
from escalation.reviews import REVIEW_QUERY, SUBMIT_REVIEW_UPDATE, ReviewSubmissionRequest, closed
from escalation.settings import Settings
from escalation.state import (
    OPEN_STATUSES,
    ActionResult,
    EscalationInput,
    EscalationRecord,
    Occurrence,
    OccurrenceRequest,
    Status,
    StatusView,
)
from starter.connection import connect, connect_with_retry
from workflows import visibility
from workflows.escalation import EscalationWorkflow
from workflows.reply_codes import ReplyCodesWorkflow

if TYPE_CHECKING:
    from activities.store import RecordStore

CLOSING_WAIT = timedelta(seconds=30)
T = TypeVar("T")
CLOSING_POLL = timedelta(milliseconds=200)
CLOSED_REVIEW_WAIT = timedelta(seconds=5)
"""How long to ask an ended review how it ended (a worker replays it), before a plainer answer."""


class EscalationError(Exception):
    """A request was refused or could not be carried out; the message says why and what to do."""


class RefusedError(EscalationError):
    """The workflow's rules refused the action; ``reason`` is the rule's sentence."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"refused: {reason}")


class UnknownIncidentError(EscalationError):
    """No escalation has this id."""


class UnansweredError(EscalationError):
    """No worker applied the request in time; it is kept and applies later."""


class Opened(BaseModel):
    incident_id: str
    workflow_id: str
    ui_url: str
    deduplicated: bool
    occurrences: int


class Listed(BaseModel):
    """One escalation as Temporal's visibility store sees it."""

    incident_id: str
    status: str | None
    severity: str | None
    service: str | None
    tier: int | None
    acknowledged_by: str | None
    started_at: datetime
    """When the current run started: later than the trigger once a long escalation continued as new."""
    age_seconds: float
    """Since ``triggered_at``."""
    triggered_at: datetime


def new_dedup_key() -> str:
    return secrets.token_hex(4)


def incident_id_for(incident: Incident) -> str:
    """One escalation per service and dedup key: the workflow id is derived from both.

    Service ids cannot contain ``:``, so two (service, key) pairs never share an id.
    """
    return incident_id_of(incident.service, incident.dedup_key)


def incident_id_of(service: str, dedup_key: str) -> str:
    return f"incident:{service}:{dedup_key}"


def list_query(status: Status | None, severity: Severity | None, service: str | None) -> str:
    """Visibility query for escalations; open ones unless a status is asked for.

    Values come from enums and validated ids only, so nothing typed by a user reaches the
    query unchecked.
    """
    clauses = ['WorkflowType = "Escalation"']
    if status is None or status in OPEN_STATUSES:
        # A run terminated by an operator keeps its last search attributes: it is not open.
        clauses.append('ExecutionStatus = "Running"')
    if status is not None:
        clauses.append(f'{visibility.STATUS.name} = "{status.value}"')
    if severity is not None:
        clauses.append(f'{visibility.SEVERITY.name} = "{severity.value}"')
    if service is not None:
        try:
            service = service_id(service)
        except ValueError as error:
            raise EscalationError(str(error)) from None
        clauses.append(f'{visibility.SERVICE.name} = "{service}"')
    return " AND ".join(clauses)


class Escalations:
    def __init__(self, client: Client, settings: Settings, config: Config | None = None) -> None:
        self._client = client
        self._settings = settings
        self._config = config

    @property
    def settings(self) -> Settings:
        return self._settings

    @cached_property
    def store(self) -> RecordStore:
        """The record store the workers write, made on first use: one connection pool per client
        (and SQLAlchemy imported on first use: most commands never read a record)."""
        from activities.store import RecordStore

        return RecordStore.from_settings(self._settings)

    @classmethod
    async def connect(
        cls, settings: Settings | None = None, config: Config | None = None, *, wait: bool = False
    ) -> Escalations:
        """``wait``: wait out a Temporal outage (for long-running processes) instead of failing."""
        client = await (connect_with_retry() if wait else connect())
        return cls(client, settings or Settings.from_env(), config)

    @property
    def config(self) -> Config:
        """Policies are needed only to open an escalation; acknowledging never depends on them."""
        if self._config is None:
            self._config = load_config(self._settings.config_dir, with_channels=False)
        return self._config

    async def reachable(self) -> bool:
        """Whether Temporal answers a health check now."""
        try:
            return await self._client.service_client.check_health()
        except RPCError:
            return False

    def ui_url(self, incident_id: str) -> str:
        return web_ui_url(self._settings.ui_url, self._client.namespace, incident_id)

    async def trigger(self, incident: Incident, policy: str | None = None, source: str = "") -> Opened:
        """Open an escalation, or attach to the open one for the same service and dedup key.

        One atomic update-with-start: a duplicate pages nobody, it is counted and recorded.
        A trigger that meets an escalation in its last moments (closing) waits for it to end
        and opens a fresh one.
        """
        chosen = self.config.policy_for(incident.service, incident.severity, policy)
        incident_id = incident_id_for(incident)
        trigger_id = uuid.uuid4().hex
        start = EscalationInput(
            incident=incident, policy=chosen, policy_digest=chosen.digest(), trigger_id=trigger_id
        )
        request = OccurrenceRequest(
            trigger_id=trigger_id, source=source or incident.source, severity=incident.severity
        )
        triggered_at = TypedSearchAttributes(
            [SearchAttributePair(visibility.TRIGGERED_AT, datetime.now(UTC))]
        )
        for _ in range(3):
            operation = WithStartWorkflowOperation(
                EscalationWorkflow.run,
                start,
                id=incident_id,
                task_queue=self._settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=headline(incident),
                static_details=report_markdown(incident),
                search_attributes=triggered_at,
            )
            try:
                occurrence: Occurrence = await self._answered(
                    self._client.execute_update_with_start_workflow(
                        EscalationWorkflow.trigger, request, start_workflow_operation=operation
                    )
                )
            except EscalationError:  # unanswered: read the start's outcome, or asyncio logs it as lost
                await asyncio.gather(operation.workflow_handle(), return_exceptions=True)
                raise
            except WorkflowUpdateFailedError:  # closing: let it finish, then open a new one
                closing = await operation.workflow_handle()
                await self._wait_closed(incident_id, closing.result_run_id)
                continue
            except RPCError as error:
                raise EscalationError(f"{incident_id}: {error.message}") from None
            return Opened(
                incident_id=incident_id,
                workflow_id=incident_id,
                ui_url=self.ui_url(incident_id),
                deduplicated=occurrence.deduplicated,
                occurrences=occurrence.occurrences,
            )
        raise EscalationError(f"incident {incident_id} keeps closing; try the trigger again")

    async def _wait_closed(self, incident_id: str, run_id: str | None) -> None:
        """Poll until the closing run has ended (its close-out is retried until it succeeds).

        The run is polled by its id: another trigger may open the next run first, and that
        one stays open.
        """
        handle = self._client.get_workflow_handle(incident_id, run_id=run_id)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + CLOSING_WAIT.total_seconds()
        while loop.time() < give_up:
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                return
            await asyncio.sleep(CLOSING_POLL.total_seconds())

    async def act(
        self, incident_id: str, action: Action | str, request: ActionRequest | Mapping[str, object]
    ) -> ActionResult:
        """Apply one action of ``escalation.actions`` (by entry or name) as its validated update.

        ``request`` is the action's request model or its fields; a refusal raises EscalationError
        with the workflow's reason, and changes nothing.
        """
        try:
            action = action if isinstance(action, Action) else named(action)
        except ValueError as error:
            raise EscalationError(str(error)) from None
        try:
            request = action.request.model_validate(request)
        except ValidationError as error:
            problems = validation_problems(error, action.request, action.name)
            raise EscalationError("; ".join(problems)) from None
        handle = self._handle(incident_id)
        try:
            return await self._answered(handle.execute_update(action.name, request, result_type=ActionResult))
        except WorkflowUpdateFailedError as error:
            raise RefusedError(error.cause.message if error.cause else str(error)) from None
        except RPCError as error:
            raise await self._explain(incident_id, error) from None

    async def status(self, incident_id: str) -> StatusView:
        handle = self._handle(incident_id)
        try:
            return await handle.query(EscalationWorkflow.status)
        except RPCError as error:
            raise await self._explain(incident_id, error) from None

    def pending_review(self, incident_id: str) -> EscalationRecord:
        """The record of the incident's latest escalation, if its review is pending: the review
        ``escalate review ID`` and ``POST /v1/incidents/{id}/review`` submit."""
        record = self.store.latest(incident_id)
        if record is None:
            raise UnknownIncidentError(
                f"no close-out record for {incident_id!r}; a review opens when the escalation resolves"
            )
        if record.review is None or record.review.status is not ReviewStatus.PENDING:
            status = record.review.status.value if record.review else "not_required"
            raise UnknownIncidentError(f"{incident_id} has no review pending (its latest review is {status})")
        return record

    async def submit_review(
        self, incident_id: str, request: ReviewSubmissionRequest, triggered_at: datetime | None = None
    ) -> Review:
        """Submit the review of the escalation opened at ``triggered_at`` (a review link names it),
        by default of the incident's latest escalation with a review pending. A refusal raises
        RefusedError with the review's reason (not the owner, an unknown tier, already done)."""
        if triggered_at is None:
            triggered_at = (await asyncio.to_thread(self.pending_review, incident_id)).triggered_at
        handle = self._client.get_workflow_handle(review_workflow_id(incident_id, triggered_at))
        try:
            submitted = handle.execute_update(SUBMIT_REVIEW_UPDATE, request, result_type=Review)
            return await self._answered(submitted)
        except WorkflowUpdateFailedError as error:
            raise RefusedError(error.cause.message if error.cause else str(error)) from None
        except RPCError as error:
            raise await self._review_closed(handle, incident_id, error) from None

    async def review(self, incident_id: str, triggered_at: datetime) -> Review:
        """The review of the escalation opened at ``triggered_at``, as its workflow has it."""
        handle = self._client.get_workflow_handle(review_workflow_id(incident_id, triggered_at))
        try:
            return await handle.query(REVIEW_QUERY, result_type=Review)
        except RPCError as error:
            raise await self._review_closed(handle, incident_id, error) from None

    async def _review_closed(
        self, handle: WorkflowHandle, incident_id: str, error: RPCError
    ) -> EscalationError:
        """Why a review's workflow did not answer: never opened (404), or over (a refusal that
        says how it ended, as the review last had it)."""
        if error.status != RPCStatusCode.NOT_FOUND:
            return EscalationError(f"{incident_id}: {error.message}")
        try:
            await handle.describe()
        except RPCError:
            return UnknownIncidentError(f"no review of {incident_id!r} was opened; its policy required none")
        try:
            review = await handle.query(REVIEW_QUERY, result_type=Review, rpc_timeout=CLOSED_REVIEW_WAIT)
        except (RPCError, WorkflowQueryFailedError):
            review = None
        return RefusedError(
            (review and closed(incident_id, review))
            or f"the review of {incident_id} is closed: it was submitted or its window passed"
        )

    async def reply_code(self, responder: str, code: int) -> Booked | None:
        """The escalation ``code`` names in ``responder``'s SMS reply codes (None: no such code)."""
        book = self._client.get_workflow_handle_for(ReplyCodesWorkflow.run, reply_codes_id(responder))
        try:
            return await book.query(
                ReplyCodesWorkflow.lookup, code, reject_condition=QueryRejectCondition.NOT_OPEN
            )
        except WorkflowQueryRejectedError:
            return None  # the book was ended by hand; the next SMS starts a fresh one
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return None  # never paged by SMS here
            raise

    async def list(
        self,
        status: Status | None = None,
        severity: Severity | None = None,
        service: str | None = None,
        limit: int = 50,
    ) -> list[Listed]:
        """Escalations from Temporal's visibility store, most recently triggered first.

        Runs opened before ``EscalationTriggeredAt`` existed fall back to their start time.
        """
        now = datetime.now(UTC)
        found = []
        async for execution in self._client.list_workflows(
            list_query(status, severity, service), limit=limit
        ):
            attributes = execution.typed_search_attributes
            triggered_at = attributes.get(visibility.TRIGGERED_AT) or execution.start_time
            found.append(
                Listed(
                    incident_id=execution.id,
                    status=attributes.get(visibility.STATUS),
                    severity=attributes.get(visibility.SEVERITY),
                    service=attributes.get(visibility.SERVICE),
                    tier=attributes.get(visibility.TIER),
                    acknowledged_by=attributes.get(visibility.ACKNOWLEDGED_BY),
                    started_at=execution.start_time,
                    age_seconds=(now - triggered_at).total_seconds(),
                    triggered_at=triggered_at,
                )
            )
        return sorted(found, key=lambda listed: listed.triggered_at, reverse=True)

    async def _answered(self, call: Awaitable[T]) -> T:
        """Wait for a worker to apply the request; without one it would wait forever.

        The bound is ours rather than an ``rpc_timeout``: the server ends an update's long
        poll every 20 s or so and the SDK simply polls again. Cancelled by the bound, the SDK
        raises its own timeout error; a cancellation from elsewhere (Ctrl-C) passes through.
        """
        wait = self._settings.worker_wait
        try:
            async with asyncio.timeout(wait.total_seconds()) as bound:
                return await call
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            if not bound.expired():
                raise
            raise UnansweredError(
                f"no worker answered within {format_duration(wait)}; the request is kept and applies when "
                f"a worker polls task queue {self._settings.task_queue!r} (start one with 'escalate up')"
            ) from None

    def _handle(self, incident_id: str) -> WorkflowHandle[EscalationWorkflow, object]:
        return self._client.get_workflow_handle_for(EscalationWorkflow.run, incident_id)

    async def _explain(self, incident_id: str, error: RPCError) -> EscalationError:
        """Turn a server error about one incident into a sentence a responder can act on."""
        if error.status != RPCStatusCode.NOT_FOUND:
            return EscalationError(f"{incident_id}: {error.message}")
        try:
            description = await self._handle(incident_id).describe()
        except RPCError:
            return UnknownIncidentError(
                f"no incident {incident_id!r}; check the id printed by 'escalate trigger'"
            )
        state = description.status.name.lower() if description.status else "closed"
        return EscalationError(f"incident {incident_id} is {state} and takes no more actions")
