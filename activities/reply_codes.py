"""The notify activity's side of SMS reply codes: the code an SMS page offers its reader.

Before assigning, the escalations in the responder's book are checked, and those that have
ended are named in the assignment, so their codes are given out again. Workflows are
addressed by name: activities do not import workflow code. Queries are rejected by the server
for closed workflows rather than sent to a worker to replay them (one that no worker polls
for any more would never answer).
"""

from __future__ import annotations

import asyncio

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.common import QueryRejectCondition, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from escalation.replies import (
    ASSIGN_UPDATE,
    BOOKED_QUERY,
    REPLY_CODES_WORKFLOW,
    Assignment,
    Booked,
    PagedIncident,
    ReplyCodesInput,
    reply_codes_id,
)
from escalation.state import OPEN_STATUSES, STATUS_QUERY, NotifyRequest, StatusView


class ReplyCodes:
    """Assigns codes through each responder's book, started on the worker's own task queue."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def assign(self, responder: str, request: NotifyRequest, task_queue: str) -> int:
        """The code of ``request``'s incident in ``responder``'s book (update-with-start)."""
        if request.triggered_at is None:
            raise ValueError("a page without its escalation's opening time gets no reply code")
        book_id = reply_codes_id(responder)
        booked = await self._booked(book_id)
        ended = await asyncio.gather(*(self._ended(entry) for entry in booked))
        assignment = Assignment(
            incident_id=request.incident_id,
            triggered_at=request.triggered_at,
            round=request.round,
            tier_name=request.tier_name,
            phase=request.phase,
            closed=[
                PagedIncident(incident_id=entry.incident_id, triggered_at=entry.triggered_at)
                for entry, over in zip(booked, ended, strict=True)
                if over
            ],
        )
        start = WithStartWorkflowOperation(
            REPLY_CODES_WORKFLOW,
            ReplyCodesInput(),
            id=book_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"SMS reply codes of {responder}",
        )
        try:
            return await self._client.execute_update_with_start_workflow(
                ASSIGN_UPDATE, assignment, start_workflow_operation=start, result_type=int
            )
        except BaseException:  # read the start's outcome too, or asyncio logs it as never retrieved
            await asyncio.gather(start.workflow_handle(), return_exceptions=True)
            raise

    async def _booked(self, book_id: str) -> list[Booked]:
        try:
            return await self._client.get_workflow_handle(book_id).query(
                BOOKED_QUERY, result_type=list[Booked], reject_condition=QueryRejectCondition.NOT_OPEN
            )
        except WorkflowQueryRejectedError:
            return []  # ended (terminated by hand): the update starts a fresh book
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return []  # the responder's first SMS: the update starts the book
            raise

    async def _ended(self, entry: Booked) -> bool:
        """Whether the booked escalation is over: closed, gone, or replaced by a later one."""
        try:
            view = await self._client.get_workflow_handle(entry.incident_id).query(
                STATUS_QUERY, result_type=StatusView, reject_condition=QueryRejectCondition.NOT_OPEN
            )
        except WorkflowQueryRejectedError:
            return True
        except RPCError as error:
            return error.status == RPCStatusCode.NOT_FOUND
        except WorkflowQueryFailedError:
            return False  # kept, and checked again at the next page
        return view.status not in OPEN_STATUSES or view.triggered_at != entry.triggered_at
