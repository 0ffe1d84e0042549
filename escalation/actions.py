"""Responder actions: the one table every front end is built from.

Each action is one entry: its name, its request, the rule that may refuse it
(``escalation.permissions``), the transition that applies it (``escalation.ladder``), and
what people see of it (a help line, the request fields as labelled inputs, a one-line
outcome). The workflow registers a validated update and a signal per entry, the Python API
acts by name, and the CLI builds a subcommand per entry, so adding an action means one
request model and one entry here, plus its rule and its transition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import Field
from pydantic.fields import FieldInfo

from escalation import ladder, permissions
from escalation.models import EscalationPolicy, Severity, Strict
from escalation.state import ActionResult, EscalationState


class ActionRequest(Strict):
    """Who acts; every action's request names its responder, set by the front end, never typed."""

    responder: str


class AcknowledgeRequest(ActionRequest):
    note: str = Field("", title="Note", description="what you are doing about it")


class ResolveRequest(ActionRequest):
    summary: str = Field(title="Summary", description="what fixed it")
    root_cause: str = Field("", title="Root cause", description="why it happened")


class EscalateRequest(ActionRequest):
    reason: str = Field(title="Reason", description="why it needs the next tier")


class NoteRequest(ActionRequest):
    text: str = Field(title="Note", description="what was tried or learned")


class SeverityRequest(ActionRequest):
    severity: Severity = Field(title="Severity", description="the new severity, SEV1 (most urgent) to SEV4")
    reason: str = Field(title="Reason", description="why the severity changes")


class ReassignRequest(ActionRequest):
    to: str = Field(title="To", description="the responder who takes it over")


class CancelRequest(ActionRequest):
    reason: str = Field(title="Reason", description="why it is a false alarm")


R = TypeVar("R", bound=ActionRequest)


@dataclass(frozen=True)
class Action(Generic[R]):
    name: str
    """The update and signal name (and the last segment of its HTTP route)."""
    command: str
    """The CLI subcommand."""
    help: str
    request: type[R]
    refusal: Callable[[EscalationState, EscalationPolicy, R], str | None]
    apply: Callable[[EscalationState, EscalationPolicy, R, datetime], None]
    outcome: Callable[[ActionResult, R], str]
    """What happened, in one line for the person who acted."""
    positional: tuple[str, ...] = ()
    """Request fields the CLI takes as positional arguments rather than flags."""

    @property
    def inputs(self) -> dict[str, FieldInfo]:
        """The request fields a person fills in: all but the responder, who comes from the front end."""
        return {name: info for name, info in self.request.model_fields.items() if name != "responder"}


CLOSING = "the close-out record is being written"

ACTIONS: tuple[Action, ...] = (
    Action(
        name="acknowledge",
        command="ack",
        help="acknowledge an incident: stop the ladder, you own it",
        request=AcknowledgeRequest,
        refusal=permissions.acknowledge_refusal,
        apply=ladder.acknowledge,
        outcome=lambda r, _: f"{r.incident_id} acknowledged by {r.acknowledged_by} (tier {r.tier_name})",
    ),
    Action(
        name="resolve",
        command="resolve",
        help="resolve an incident and write its close-out record",
        request=ResolveRequest,
        refusal=permissions.resolve_refusal,
        apply=ladder.resolve,
        outcome=lambda r, _: f"{r.incident_id} resolved by {r.resolved_by}; {CLOSING}",
    ),
    Action(
        name="escalate",
        command="escalate",
        help="hand the incident to the next tier now",
        request=EscalateRequest,
        refusal=permissions.escalate_refusal,
        apply=ladder.escalate_now,
        outcome=lambda r, _: f"{r.incident_id} handed to tier {r.tier_name}; paging {', '.join(r.paging)}",
    ),
    Action(
        name="note",
        command="note",
        help="add a progress note: what was tried, what is known",
        request=NoteRequest,
        refusal=permissions.note_refusal,
        apply=ladder.add_note,
        outcome=lambda r, request: f"{r.incident_id}: note added by {request.responder}",
        positional=("text",),
    ),
    Action(
        name="change_severity",
        command="severity",
        help="raise or lower the severity",
        request=SeverityRequest,
        refusal=permissions.severity_refusal,
        apply=ladder.change_severity,
        outcome=lambda r, _: f"{r.incident_id} is now {r.severity.value} (tier {r.tier_name})",
        positional=("severity",),
    ),
    Action(
        name="reassign",
        command="reassign",
        help="hand your acknowledgement to another responder",
        request=ReassignRequest,
        refusal=permissions.reassign_refusal,
        apply=ladder.reassign,
        outcome=lambda r, _: f"{r.incident_id} now held by {r.acknowledged_by}",
    ),
    Action(
        name="cancel",
        command="cancel",
        help="close a false alarm",
        request=CancelRequest,
        refusal=permissions.cancel_refusal,
        apply=ladder.cancel,
        outcome=lambda r, _: f"{r.incident_id} cancelled by {r.resolved_by}; {CLOSING}",
    ),
)
"""Every responder action, in the order front ends list them."""

BY_NAME: dict[str, Action] = {action.name: action for action in ACTIONS}


def named(name: str) -> Action:
    """The action called ``name``; a ValueError lists the real ones."""
    if name not in BY_NAME:
        raise ValueError(f"{name!r} is not an action; use one of: {', '.join(BY_NAME)}")
    return BY_NAME[name]
