"""A responder's SMS reply codes: one long-running workflow per responder, ``reply-codes:<id>``.

The notify activity assigns a code (update-with-start) before it sends an SMS; the API looks
a reply's code up (query). Updates run one at a time, so two pages at once never get the
same code. The run continues as new, carrying the book, before its history grows long.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalation.replies import (
        ASSIGN_UPDATE,
        BOOKED_QUERY,
        LOOKUP_QUERY,
        REPLY_CODES_WORKFLOW,
        Assignment,
        Booked,
        ReplyCodesInput,
    )
    from workflows.deadlines import history_is_long


@workflow.defn(name=REPLY_CODES_WORKFLOW)
class ReplyCodesWorkflow:
    @workflow.init
    def __init__(self, start: ReplyCodesInput) -> None:
        self._book = start.book

    @workflow.run
    async def run(self, start: ReplyCodesInput) -> None:
        await workflow.wait_condition(lambda: history_is_long(start.history_limit))
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(start.model_copy(update={"book": self._book}))

    @workflow.update(name=ASSIGN_UPDATE)
    def assign(self, request: Assignment) -> int:
        """This page's incident's code; frees the codes of the escalations ``closed`` names."""
        self._book, code = self._book.assign(request)
        return code

    @workflow.query(name=LOOKUP_QUERY)
    def lookup(self, code: int) -> Booked | None:
        return self._book.lookup(code)

    @workflow.query(name=BOOKED_QUERY)
    def booked(self) -> list[Booked]:
        return list(self._book.entries)
