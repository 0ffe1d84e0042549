"""The reply-codes workflow: a book per responder, kept in Temporal, read by any API server."""

from __future__ import annotations

from temporalio.client import WorkflowHandle

from activities.reply_codes import ReplyCodes
from escalation.replies import Assignment, ReplyCodesInput, reply_codes_id
from escalation.state import NotifyRequest, Phase, StatusView
from tests.support import incident, start_input
from tests.workflow.conftest import Ladder, notified
from workflows.reply_codes import ReplyCodesWorkflow


async def opened(ladder: Ladder, key: str) -> StatusView:
    """A running escalation for ana's frontline, once its first page is recorded."""
    handle = await ladder.start(start_input(i=incident(key=key)))
    return await ladder.until(handle, lambda view: bool(notified(view)))


def page_of(view: StatusView) -> NotifyRequest:
    return NotifyRequest(
        incident_id=view.incident_id, idempotency_key="k", triggered_at=view.triggered_at,
        incident=view.incident, severity=view.severity, tier_name=view.tier_name, phase=view.phase,
        round=view.round, targets=["ana"], channels=None, deadline=view.next_deadline,
    )  # fmt: skip


def book(ladder: Ladder, responder: str) -> WorkflowHandle:
    handle = ladder.client.get_workflow_handle(reply_codes_id(responder))
    ladder.started.append(handle)  # ended with the test's escalations
    return handle


async def test_codes_are_per_responder_kept_per_incident_and_reused_once_closed(ladder: Ladder) -> None:
    codes = ReplyCodes(ladder.client)
    first, second = await opened(ladder, "first"), await opened(ladder, "second")
    for responder in ("ana", "ben"):
        book(ladder, responder)

    assert await codes.assign("ana", page_of(first), ladder.task_queue) == 1
    assert await codes.assign("ana", page_of(second), ladder.task_queue) == 2
    assert await codes.assign("ana", page_of(first), ladder.task_queue) == 1, (
        "the same incident keeps its code"
    )
    assert await codes.assign("ben", page_of(second), ladder.task_queue) == 1, "each responder has a book"

    await ladder.api.act(first.incident_id, "resolve", {"responder": "ana", "summary": "restarted"})
    third = await opened(ladder, "third")
    assert await codes.assign("ana", page_of(third), ladder.task_queue) == 1, "the closed incident's code"

    looked_up = await ladder.api.reply_code("ana", 1)
    assert looked_up is not None
    assert (looked_up.incident_id, looked_up.triggered_at) == (third.incident_id, third.triggered_at)
    assert (await ladder.api.reply_code("ana", 2) or looked_up).incident_id == second.incident_id
    assert await ladder.api.reply_code("ana", 3) is None
    assert await ladder.api.reply_code("sam", 1) is None, "no book: never paged by SMS"


async def test_a_long_book_continues_as_new_and_keeps_its_codes(ladder: Ladder) -> None:
    handle = await ladder.client.start_workflow(
        ReplyCodesWorkflow.run, ReplyCodesInput(history_limit=40), id=reply_codes_id("sofia"),
        task_queue=ladder.task_queue,
    )  # fmt: skip
    book(ladder, "sofia")
    view = await opened(ladder, "long")
    for n in range(12):
        step = Assignment(incident_id=f"{view.incident_id}-{n % 3}", triggered_at=view.triggered_at, round=n,
                          tier_name="frontline", phase=Phase.PRIMARY)  # fmt: skip
        assert await handle.execute_update(ReplyCodesWorkflow.assign, step) == n % 3 + 1

    described = await ladder.client.get_workflow_handle(handle.id).describe()
    assert described.run_id != handle.first_execution_run_id, "the history grew past its limit"
    kept = await ladder.api.reply_code("sofia", 3)
    assert kept is not None and (kept.incident_id, kept.round) == (f"{view.incident_id}-2", 11)
