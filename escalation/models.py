"""Configuration models: incidents, responders, policies and routing.

Every model forbids unknown keys, so a typo in a policy file is an error rather than a
silently ignored setting.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from escalation.durations import Duration

IDENTIFIER_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
SLACK_MEMBER_PATTERN = r"^[A-Z0-9]{5,20}$"
PATTERN_HINTS = {
    IDENTIFIER_PATTERN: "use lower-case letters, digits, '.', '_' or '-' (for example 'checkout-api')",
    PHONE_PATTERN: "write the number in E.164: '+', country code and number, no spaces (e.g. '+15550100101')",
    SLACK_MEMBER_PATTERN: "use the Slack member id (e.g. 'U024BE7LH'), not the @name",
}
"""What to write instead, for each pattern a configuration value must match."""

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, pattern=IDENTIFIER_PATTERN)]
"""Ids of responders, services, policies and tiers: lower-case letters, digits, ``.``, ``_``, ``-``."""


class Severity(StrEnum):
    """SEV1 is the most urgent."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"


class Channel(StrEnum):
    """Where a page is sent. ``console`` writes it to the worker's log, for development."""

    CONSOLE = "console"
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    SLACK = "slack"
    WEBHOOK = "webhook"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Report(Strict):
    """The facts every page carries, so nobody has to ask twice (5W1H)."""

    what_happened: str = ""
    where: str = ""
    started_at: datetime | None = None
    impact: str = ""
    actions_taken: str = ""
    ask: str = ""
    reporter: str = ""


class Incident(Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    service: Identifier
    severity: Severity
    dedup_key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    summary: str = ""
    report: Report = Report()
    source: str = "cli"
    links: list[str] = []


PhoneNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=PHONE_PATTERN)]
"""E.164, as SMS and voice providers expect: ``+`` then country code and number, no spaces."""


class SlackContact(Strict):
    """A Slack-compatible incoming webhook (named in channels.yaml) and whom to mention there."""

    webhook: Identifier
    mention: Annotated[str, StringConstraints(strip_whitespace=True, pattern=SLACK_MEMBER_PATTERN)] | None = (
        None
    )


class ContactMethods(Strict):
    """How a responder is reached. Details stay in the roster, never in workflow history."""

    email: EmailStr | None = None
    phone: PhoneNumber | None = None
    slack: SlackContact | None = None
    webhook: Identifier | None = None
    """The name of a generic webhook endpoint in channels.yaml."""

    def has(self, channel: Channel) -> bool:
        """Whether this responder can be paged on ``channel`` at all."""
        needed = CONTACT_FOR[channel]
        return needed is None or getattr(self, needed) is not None


CONTACT_FOR: dict[Channel, str | None] = {
    Channel.CONSOLE: None,
    Channel.EMAIL: "email",
    Channel.SMS: "phone",
    Channel.VOICE: "phone",
    Channel.SLACK: "slack",
    Channel.WEBHOOK: "webhook",
}
"""The contact field each channel needs."""

ChannelList = Annotated[list[Channel], Field(min_length=1)]


class Responder(Strict):
    """Someone who can be paged, and on which channels (their own notification rules)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    contact: ContactMethods = ContactMethods()
    channels: ChannelList | None = None
    """Channels for any severity without a rule below; default: the roster's ``default_channels``."""
    by_severity: dict[Severity, ChannelList] = {}


class Roster(Strict):
    default_channels: ChannelList = [Channel.CONSOLE]
    responders: dict[Identifier, Responder] = Field(min_length=1)

    def channels_for(self, responder: str, severity: Severity) -> list[Channel]:
        """The responder's rule for this severity, else their default, else the roster's."""
        person = self.responders[responder]
        return person.by_severity.get(severity) or person.channels or self.default_channels


class Tier(Strict):
    name: Identifier
    primary: list[Identifier] = Field(min_length=1)
    backup: list[Identifier] = []
    ack_timeout: Duration
    backup_timeout: Duration | None = None
    channels: ChannelList | None = None
    """Overrides every target's own channels on this tier; default: each responder's rules."""

    @property
    def effective_backup_timeout(self) -> timedelta:
        """The backup waits as long as the primary unless the policy says otherwise."""
        return self.backup_timeout or self.ack_timeout


class SeverityRule(Strict):
    start_tier: Identifier | None = None
    timeout_scale: float = Field(default=1.0, gt=0, le=10)


class EscalationPolicy(Strict):
    name: Identifier
    version: str
    description: str = ""
    tiers: list[Tier] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=20)
    severities: dict[Severity, SeverityRule] = {}
    resolve_deadline: Duration | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _tiers_are_consistent(self) -> EscalationPolicy:
        seen: dict[str, int] = {}
        for index, tier in enumerate(self.tiers):
            if tier.name in seen:
                raise ValueError(
                    f"tiers[{index}].name {tier.name!r} repeats tiers[{seen[tier.name]}].name; "
                    "give every tier a unique name"
                )
            seen[tier.name] = index
        for severity, rule in self.severities.items():
            if rule.start_tier is not None and rule.start_tier not in seen:
                raise ValueError(
                    f"severities.{severity.value}.start_tier {rule.start_tier!r} is not a tier; "
                    f"use one of {', '.join(seen)}"
                )
        return self

    def rule(self, severity: Severity) -> SeverityRule:
        return self.severities.get(severity, SeverityRule())

    def responders(self) -> set[str]:
        """Everyone this policy may page, primary or backup, on any tier."""
        return {target for tier in self.tiers for target in (*tier.primary, *tier.backup)}

    def digest(self) -> str:
        """A short content hash, so an escalation's history shows exactly which rules applied."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class Route(Strict):
    service: Identifier
    severity: Severity | None = None
    policy: Identifier


class Routing(Strict):
    default: Identifier
    routes: list[Route] = []

    def policy_for(self, service: str, severity: Severity) -> str:
        """The most specific route wins: service and severity, then service, then default."""
        exact = [r for r in self.routes if r.service == service and r.severity == severity]
        broad = [r for r in self.routes if r.service == service and r.severity is None]
        for candidates in (exact, broad):
            if candidates:
                return candidates[0].policy
        return self.default
