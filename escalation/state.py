"""What a running escalation knows, and the messages that cross the workflow boundary.

These models are the contract between the workflow, its activities and its clients; they
travel through Temporal as JSON with the pydantic data converter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from escalation.learning import NoticeKind, Review, SimilarIncident
from escalation.models import Channel, EscalationPolicy, Incident, Severity, Strict

NOTIFY_ACTIVITY = "notify"
RESOLVE_TARGETS_ACTIVITY = "resolve_targets"
CLOSE_OUT_ACTIVITY = "close_out"
STATUS_QUERY = "status"
"""The escalation workflow's query for its state (a ``StatusView``)."""


class Phase(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class Step(Strict):
    """A position on the ladder: which pass over the tiers, which tier, primary or backup."""

    round: int
    tier: int
    phase: Phase


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    EXHAUSTED = "exhausted"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({Status.TRIGGERED, Status.ACKNOWLEDGED, Status.EXHAUSTED})


class EventKind(StrEnum):
    TRIGGERED = "triggered"
    NOTIFIED = "notified"
    NOTIFY_FAILED = "notify_failed"
    ACK_TIMEOUT = "ack_timeout"
    ESCALATED = "escalated"
    EXHAUSTED = "exhausted"
    ACKNOWLEDGED = "acknowledged"
    RESOLVE_TIMEOUT = "resolve_timeout"
    RESOLVED = "resolved"
    NOTE = "note"
    SEVERITY_CHANGED = "severity_changed"
    REASSIGNED = "reassigned"
    CANCELLED = "cancelled"
    REPEATED = "repeated"
    SIMILAR_UNAVAILABLE = "similar_unavailable"
    """The first page went out without similar past incidents: the record store failed or was slow."""
    ON_CALL = "on_call"
    """Whom a step's schedules had on call when it was paged."""
    SKIPPED = "skipped"
    """A step with nobody to page moved on at once."""


class Via(StrEnum):
    """Where a responder's action came from, when it was answered from the page itself."""

    LINK = "link"
    SLACK = "slack"
    SMS = "sms"
    VOICE = "voice"


class TimelineEvent(Strict):
    at: datetime
    kind: EventKind
    tier_name: str | None = None
    phase: Phase | None = None
    actor: str | None = None
    targets: list[str] = Field(default_factory=list)
    channel: Channel | None = None
    via: Via | None = None
    """How the actor answered, when it was from the page (a signed link, Slack, an SMS reply, a key)."""
    note: str = ""


class PolicyRef(Strict):
    name: str
    version: str
    digest: str


DEFAULT_HISTORY_LIMIT = 4000


class EscalationInput(Strict):
    """Everything the workflow starts from: the incident and the policy as it was then.

    ``trigger_id`` tells the trigger that opened the escalation from later duplicates;
    ``state`` is set only when a long escalation continues as new, carrying what it knows.
    """

    incident: Incident
    policy: EscalationPolicy
    policy_digest: str
    trigger_id: str = ""
    history_limit: int = DEFAULT_HISTORY_LIMIT
    state: EscalationState | None = None

    @property
    def policy_ref(self) -> PolicyRef:
        return PolicyRef(name=self.policy.name, version=self.policy.version, digest=self.policy_digest)


class Resolution(Strict):
    summary: str
    root_cause: str = ""


class EscalationState(BaseModel):
    """The mutable state of one escalation; changed only by the transitions in ``ladder``."""

    model_config = ConfigDict(extra="forbid")

    status: Status = Status.TRIGGERED
    severity: Severity
    step: Step
    highest_tier: int = 0
    occurrences: int = 1
    pages: int = 0
    """Steps paged so far: part of each page's idempotency key, so paging a step again is new."""
    triggered_at: datetime
    next_deadline: datetime | None = None
    acknowledged_by: str | None = None
    """Who holds the incident now; nobody once it moves to another tier."""
    acknowledged_at: datetime | None = None
    """When it was first acknowledged: what time to acknowledge counts."""
    acknowledged_tier: str | None = None
    """The tier of the first acknowledgement."""
    first_acknowledged_by: str | None = None
    """Who made the first acknowledgement."""
    last_held_by: str | None = None
    """Who held the incident last (acknowledged or was handed it), kept after they let go."""
    last_held_tier: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution: Resolution | None = None
    timeline: list[TimelineEvent] = []
    omitted_events: int = 0
    """Early events dropped from a very long timeline (kept in the earlier runs' histories)."""
    opened_by_integration: str | None = None
    """``integration:<name>`` when an integration opened the incident: it may acknowledge and resolve it."""
    similar: list[SimilarIncident] | None = None
    """Similar past incidents attached to the first page (None: not looked up, or the look-up failed)."""
    paging: list[str] | None = None
    """The current step's targets, its schedules resolved when paged (None: as the policy names them)."""
    on_call: dict[int, list[str]] = {}
    """Per tier (by position): whom its schedules had on call for the pages so far; they may acknowledge."""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


EscalationInput.model_rebuild()


class StatusView(Strict):
    """The whole picture an operator or responder asks for: the ``status`` query's answer."""

    incident_id: str
    triggered_at: datetime | None = None
    """When this escalation opened: it tells it from a later one reusing the incident id."""
    status: Status
    severity: Severity
    tier_name: str
    phase: Phase
    round: int
    paging: list[str]
    occurrences: int
    next_deadline: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: Resolution | None
    policy: PolicyRef
    incident: Incident
    timeline: list[TimelineEvent]
    omitted_events: int = 0
    review: Review | None = None
    """The post-incident review's state; set by the close-out and the review workflow, not the ladder."""
    similar: list[SimilarIncident] | None = None
    """Similar past incidents, as attached to the first page."""


class ActionResult(Strict):
    """What an accepted action left behind. Small on purpose: every result is kept in history."""

    incident_id: str
    status: Status
    severity: Severity
    tier_name: str
    paging: list[str]
    acknowledged_by: str | None
    resolved_by: str | None


class OccurrenceRequest(Strict):
    """A trigger for this incident; a different ``trigger_id`` than the opener's is a duplicate.

    A duplicate at a more urgent severity raises the escalation's severity.
    """

    trigger_id: str
    source: str = ""
    severity: Severity | None = None


class Occurrence(Strict):
    incident_id: str
    deduplicated: bool
    occurrences: int


class NotifyRequest(Strict):
    """One page to one ladder step. Carries responder ids only; contacts are looked up later.

    ``channels`` is the tier's override (None: each responder's own rules). Every delivery,
    retries included, ends within ``deliver_within``, so a broken channel cannot stall the step.
    """

    incident_id: str
    idempotency_key: str
    triggered_at: datetime | None = None
    """When the escalation opened; the page's action links are bound to this escalation by it."""
    incident: Incident
    severity: Severity
    tier_name: str
    phase: Phase
    round: int = 0
    targets: list[str]
    channels: list[Channel] | None
    deadline: datetime
    deliver_within: timedelta = timedelta(seconds=30)
    first_page: bool = False
    """The escalation's first page: it looks up similar past incidents (within a bound) and carries them."""


class TargetsRequest(Strict):
    """A step's targets to resolve: its ``schedule:<name>`` entries, as the schedules stand ``at``."""

    targets: list[str]
    at: datetime


class ResolvedTargets(Strict):
    """Whom a step pages: its responder ids and its schedules' people in the tier's order, each once."""

    responders: list[str]
    schedules: dict[str, list[str]]
    """Per schedule of the step: who was on call (empty: nobody)."""
    at: datetime
    """The time the schedules were read at."""
    problem: str = ""
    """Why some schedules could not be read (unknown to the worker, or the activity failed)."""


class Delivery(Strict):
    """One responder on one channel; no channel when the responder could not be looked up at all."""

    responder: str
    channel: Channel | None
    delivered: bool
    detail: str = ""


class NotifyResult(Strict):
    deliveries: list[Delivery]
    similar: list[SimilarIncident] | None = None
    """The similar past incidents a first page carried (None: not looked up, or the look-up failed)."""
    similar_problem: str = ""
    """Why a first page went out without similar past incidents; never a secret."""


class EscalationRecord(Strict):
    """What the close-out persists: the outcome and the lessons, kept after the workflow ends.

    ``acknowledged_*`` describe the first acknowledgement (the one time to acknowledge
    counts); ``last_held_*`` name who held the incident last and from which tier.
    """

    incident_id: str
    incident: Incident
    severity: Severity
    policy: PolicyRef
    outcome: Status
    triggered_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_tier: str | None
    last_held_by: str | None = None
    last_held_tier: str | None = None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: Resolution | None
    time_to_acknowledge_seconds: float | None
    time_to_resolve_seconds: float | None
    timeline: list[TimelineEvent]
    omitted_events: int = 0
    review: Review | None = None
    """The post-incident review's state; set by the close-out and the review workflow, not the ladder."""


NOTICE_ACTIVITY = "send_notice"


class NoticeRequest(Strict):
    """A notice about a finished escalation to some responders, on their own channels.

    Sent like a page (templates, idempotency keys, retries, failures reported per delivery) but
    never part of the ladder: a notice that cannot be delivered changes nothing.
    """

    kind: NoticeKind
    idempotency_key: str
    record: EscalationRecord
    recipients: list[str]
