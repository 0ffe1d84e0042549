"""Responder actions: each pairs the rule that may refuse it with the transition that applies it.

The workflow exposes every action as a validated update and as a signal of the same name,
and the client calls them by these names, so this table is the one place they are defined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from escalation import ladder, permissions
from escalation.models import EscalationPolicy
from escalation.state import (
    AcknowledgeRequest,
    CancelRequest,
    EscalateRequest,
    EscalationState,
    Message,
    NoteRequest,
    ReassignRequest,
    ResolveRequest,
    SeverityRequest,
)

R = TypeVar("R", bound=Message)


@dataclass(frozen=True)
class Action(Generic[R]):
    name: str
    request: type[R]
    refusal: Callable[[EscalationPolicy, EscalationState, R], str | None]
    apply: Callable[[EscalationState, EscalationPolicy, R, datetime], None]


ACKNOWLEDGE = Action("acknowledge", AcknowledgeRequest, permissions.acknowledge_refusal, ladder.acknowledge)
RESOLVE = Action("resolve", ResolveRequest, permissions.resolve_refusal, ladder.resolve)
ESCALATE = Action("escalate", EscalateRequest, permissions.escalate_refusal, ladder.escalate_now)
NOTE = Action("note", NoteRequest, permissions.note_refusal, ladder.add_note)
CHANGE_SEVERITY = Action(
    "change_severity", SeverityRequest, permissions.severity_refusal, ladder.change_severity
)
REASSIGN = Action("reassign", ReassignRequest, permissions.reassign_refusal, ladder.reassign)
CANCEL = Action("cancel", CancelRequest, permissions.cancel_refusal, ladder.cancel)

ALL = (ACKNOWLEDGE, RESOLVE, ESCALATE, NOTE, CHANGE_SEVERITY, REASSIGN, CANCEL)
