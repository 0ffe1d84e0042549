"""Answering a page from the phone: SMS reply codes and the keys of a voice call.

A person paged by SMS for several open incidents tells them apart by a small number, as with
PagerDuty and GoAlert: "Reply 1a to acknowledge, 1e to escalate". Each responder has a book
of codes, one per open incident; an incident keeps its code on later pages, and the codes of
closed incidents are given out again. The book lives in a workflow per responder
(``workflows.reply_codes``), so codes survive restarts and every API server reads the same.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import Field

from escalation.models import Strict
from escalation.state import NotifyRequest, Phase

REPLY_CODES_WORKFLOW = "ReplyCodes"
ASSIGN_UPDATE = "assign"
LOOKUP_QUERY = "lookup"
BOOKED_QUERY = "booked"
DEFAULT_HISTORY_LIMIT = 2000
"""A book continues as new well before Temporal's limits: each assignment adds a few events."""

SMS_LETTERS = {"a": "acknowledge", "e": "escalate"}
"""The letter after the code in an SMS reply, and the action it asks for."""
VOICE_KEYS = {"4": "acknowledge", "5": "escalate"}
"""The key pressed during a page's call, and the action it asks for."""
KEYPAD_PROMPT = "Press 4 to acknowledge, or 5 to escalate."
REPLY_HELP = "Reply with the code from the page and a letter: 1a to acknowledge, 1e to escalate."

_REPLY = re.compile(r"\s*(\d{1,4})\s*([a-z])\s*[.!]?\s*", re.IGNORECASE)


def reply_codes_id(responder: str) -> str:
    """The book's workflow id: the responder's id, never their phone number."""
    return f"reply-codes:{responder}"


def parse_reply(body: str) -> tuple[int, str] | None:
    """``(code, action)`` for a reply such as ``1a``, ``1 E`` or ``12e.``; None for anything else."""
    match = _REPLY.fullmatch(body)
    if match is None or match[2].lower() not in SMS_LETTERS:
        return None
    return int(match[1]), SMS_LETTERS[match[2].lower()]


class PagedIncident(Strict):
    """One escalation of an incident: the incident id and the escalation's opening time."""

    incident_id: str
    triggered_at: datetime


class PagedStep(PagedIncident):
    """An escalation and the ladder step a page was for: what a reply acts on, and against what
    it is checked (escalating from a step the ladder has left does nothing)."""

    round: int
    tier_name: str
    phase: Phase

    @property
    def step(self) -> tuple[int, str, Phase]:
        return self.round, self.tier_name, self.phase

    @classmethod
    def of(cls, request: NotifyRequest) -> PagedStep | None:
        """The step ``request`` pages; None for a page without its escalation's opening time."""
        if request.triggered_at is None:
            return None
        return cls(
            incident_id=request.incident_id,
            triggered_at=request.triggered_at,
            round=request.round,
            tier_name=request.tier_name,
            phase=request.phase,
        )


class Booked(PagedStep):
    """An open incident in a responder's book, under its code, with the step of its latest SMS."""

    code: int


class Assignment(PagedStep):
    """A code for this page's incident; ``closed`` lists booked escalations that have ended, whose
    codes are free again (the caller checks, since a workflow cannot ask another)."""

    closed: list[PagedIncident] = Field(default_factory=list)


class ReplyBook(Strict):
    """One responder's codes, lowest first."""

    entries: tuple[Booked, ...] = ()

    def assign(self, request: Assignment) -> tuple[ReplyBook, int]:
        """The book with this page's incident in it, and its code: kept from earlier pages (even
        across a new escalation of the same incident id, which means the earlier one ended), or
        the lowest free one."""
        ended = {(closed.incident_id, closed.triggered_at) for closed in request.closed}
        kept = [entry for entry in self.entries if (entry.incident_id, entry.triggered_at) not in ended]
        same = [entry.code for entry in kept if entry.incident_id == request.incident_id]
        taken = {entry.code for entry in kept}
        code = same[0] if same else next(n for n in range(1, len(taken) + 2) if n not in taken)
        others = [entry for entry in kept if entry.incident_id != request.incident_id]
        booked = Booked(code=code, **request.model_dump(exclude={"closed"}))
        return ReplyBook(entries=tuple(sorted([*others, booked], key=lambda entry: entry.code))), code

    def lookup(self, code: int) -> Booked | None:
        return next((entry for entry in self.entries if entry.code == code), None)


class ReplyCodesInput(Strict):
    """A book's start, and what a run continued as new carries over."""

    book: ReplyBook = Field(default_factory=ReplyBook)
    history_limit: int = DEFAULT_HISTORY_LIMIT
