"""What ``escalate drill`` is asked and what it answers: the request, the rows and the end.

Kept apart from the drill itself, which loads Temporal's test server and a worker, so the command's
options are read and its table written without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from escalation.durations import format_duration
from escalation.models import Channel, Severity
from escalation.state import Phase, Status


@dataclass(frozen=True)
class AckBy:
    """``--ack-by sofia@25m``: who tries to acknowledge, and when after the trigger."""

    responder: str
    offset: timedelta


@dataclass(frozen=True)
class DrillRequest:
    service: str
    severity: Severity
    at: datetime
    """The simulated trigger time (aware): schedules resolve as they would then."""
    policy: str | None = None
    """Instead of the routing table's choice."""
    ack_by: AckBy | None = None


class RowKind(StrEnum):
    PAGE = "page"
    SKIPPED = "skipped"
    """A step whose schedules had nobody on call: the ladder moved on at once."""
    ACKNOWLEDGED = "acknowledged"
    REFUSED = "refused"
    EXHAUSTED = "exhausted"


class Paged(BaseModel):
    """Responders paged on the same channels."""

    responders: list[str]
    channels: list[Channel]


class Unreachable(BaseModel):
    responder: str
    channel: Channel | None
    reason: str


class DrillRow(BaseModel):
    offset_seconds: int
    offset: str
    """``+0m``, ``+7m30s``, ``+1h5m``."""
    at: datetime
    """The simulated time, in the zone of ``--at``."""
    kind: RowKind
    tier: str | None = None
    phase: Phase | None = None
    round: int | None = None
    """Counted from 1."""
    paged: list[Paged] = []
    on_call: dict[str, list[str]] = {}
    """The step's schedules, each with whom it had on call."""
    unreachable: list[Unreachable] = []
    responder: str | None = None
    """Who acknowledged, or tried to."""
    note: str = ""


class DrillEnd(BaseModel):
    status: Status
    """``acknowledged`` or ``exhausted``."""
    responder: str | None = None
    offset_seconds: int
    offset: str


class DrillReport(BaseModel):
    service: str
    severity: Severity
    policy: str
    policy_version: str
    chosen_by: str
    """``--policy``, ``a route for <service>`` or ``the routing default``."""
    at: datetime
    rows: list[DrillRow]
    end: DrillEnd


def offset_text(offset: timedelta) -> str:
    """``+0m`` at the trigger, then as a policy writes durations: ``+7m30s``, ``+1h5m``."""
    return f"+{format_duration(offset)}" if offset else "+0m"
