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
from typing import ClassVar, Generic, TypeVar

from pydantic import Field
from pydantic.fields import FieldInfo

from escalation import ladder, permissions
from escalation.models import EscalationPolicy, Severity, Strict
from escalation.state import ActionResult, EscalationState, Via


class ActionRequest(Strict):
    """Every action's request; its docstring is the action's one-line help."""

    command: ClassVar[str]
    """The CLI subcommand."""
    outcome: ClassVar[str]
    """What happened, in one line for the person who acted: formatted with the result's fields
    and the request's (``paging`` as a list of names)."""
    positional: ClassVar[tuple[str, ...]] = ()
    """Fields the CLI takes as positional arguments rather than flags."""
    responder: str
    """Who acts: set by the front end (``--as``, a token, a signature), never typed as a field."""
    via: Via | None = None
    """Set by a front end that answers from the page (a link, Slack, SMS, voice); shown in the timeline."""


class AcknowledgeRequest(ActionRequest):
    """acknowledge an incident: stop the ladder, you own it"""

    command, outcome = "ack", "{incident_id} acknowledged by {acknowledged_by} (tier {tier_name})"
    note: str = Field("", title="Note", description="what you are doing about it")


class ResolveRequest(ActionRequest):
    """resolve an incident and write its close-out record"""

    command, outcome = (
        "resolve",
        "{incident_id} resolved by {resolved_by}; the close-out record is being written",
    )
    summary: str = Field(title="Summary", description="what fixed it")
    root_cause: str = Field("", title="Root cause", description="why it happened")


class EscalateRequest(ActionRequest):
    """hand the incident to the next tier now, or to a higher one"""

    command, outcome = "escalate", "{incident_id} handed to tier {tier_name}; paging {paging}"
    reason: str = Field(title="Reason", description="why it needs the next tier")
    to_tier: str | None = Field(
        None, title="To tier", description="a higher tier to jump to (default: the next one)"
    )


class NoteRequest(ActionRequest):
    """add a progress note: what was tried, what is known"""

    command, outcome, positional = "note", "{incident_id}: note added by {responder}", ("text",)
    text: str = Field(title="Note", description="what was tried or learned")


class SeverityRequest(ActionRequest):
    """raise or lower the severity"""

    command, outcome, positional = (
        "severity",
        "{incident_id} is now {severity} (tier {tier_name})",
        ("severity",),
    )
    severity: Severity = Field(title="Severity", description="the new severity, SEV1 (most urgent) to SEV4")
    reason: str = Field(title="Reason", description="why the severity changes")


class ReassignRequest(ActionRequest):
    """hand your acknowledgement to another responder"""

    command, outcome = "reassign", "{incident_id} now held by {acknowledged_by}"
    to: str = Field(title="To", description="the responder who takes it over")


class CancelRequest(ActionRequest):
    """close a false alarm"""

    command, outcome = (
        "cancel",
        "{incident_id} cancelled by {resolved_by}; the close-out record is being written",
    )
    reason: str = Field(title="Reason", description="why it is a false alarm")


FRONT_END_FIELDS = frozenset({"responder", "via"})

R = TypeVar("R", bound=ActionRequest)


@dataclass(frozen=True)
class Action(Generic[R]):
    """One responder action: its name (the update and signal name, and the last segment of its HTTP
    route), its request, the rule that may refuse it and the transition that applies it."""

    name: str
    request: type[R]
    refusal: Callable[[EscalationState, EscalationPolicy, R], str | None]
    apply: Callable[[EscalationState, EscalationPolicy, R, datetime], None]

    @property
    def command(self) -> str:
        return self.request.command

    @property
    def help(self) -> str:
        return (self.request.__doc__ or self.name).strip()

    @property
    def positional(self) -> tuple[str, ...]:
        return self.request.positional

    @property
    def inputs(self) -> dict[str, FieldInfo]:
        """The request fields a person fills in: all but who acts and how, which the front end sets."""
        return {
            name: info for name, info in self.request.model_fields.items() if name not in FRONT_END_FIELDS
        }

    def perform(self, state: EscalationState, policy: EscalationPolicy, request: R, now: datetime) -> None:
        """Apply the transition; the events it adds say how the action arrived (``request.via``)."""
        before = len(state.timeline) + state.omitted_events
        self.apply(state, policy, request, now)
        if request.via is None:
            return
        added = min(len(state.timeline) + state.omitted_events - before, len(state.timeline))
        for n in range(len(state.timeline) - added, len(state.timeline)):
            state.timeline[n] = state.timeline[n].model_copy(update={"via": request.via})

    def outcome(self, result: ActionResult, request: R) -> str:
        fields = request.model_dump(mode="json") | result.model_dump(mode="json")
        return self.request.outcome.format(**fields | {"paging": ", ".join(result.paging)})


ACTIONS: tuple[Action, ...] = (
    Action("acknowledge", AcknowledgeRequest, permissions.acknowledge_refusal, ladder.acknowledge),
    Action("resolve", ResolveRequest, permissions.resolve_refusal, ladder.resolve),
    Action("escalate", EscalateRequest, permissions.escalate_refusal, ladder.escalate_now),
    Action("note", NoteRequest, permissions.note_refusal, ladder.add_note),
    Action("change_severity", SeverityRequest, permissions.severity_refusal, ladder.change_severity),
    Action("reassign", ReassignRequest, permissions.reassign_refusal, ladder.reassign),
    Action("cancel", CancelRequest, permissions.cancel_refusal, ladder.cancel),
)
"""Every responder action, in the order front ends list them."""

BY_NAME: dict[str, Action] = {action.name: action for action in ACTIONS}


def named(name: str) -> Action:
    """The action called ``name``; a ValueError lists the real ones."""
    if name not in BY_NAME:
        raise ValueError(f"{name!r} is not an action; use one of: {', '.join(BY_NAME)}")
    return BY_NAME[name]
