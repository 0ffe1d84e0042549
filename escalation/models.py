"""Configuration models: incidents, responders, policies and routing.

Every model forbids unknown keys, so a typo in a policy file is an error rather than a
silently ignored setting.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from escalation.durations import Duration

IDENTIFIER_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
SLACK_MEMBER_PATTERN = r"^[A-Z0-9]{5,20}$"
SCHEDULE_PREFIX = "schedule:"
TARGET_PATTERN = rf"^({SCHEDULE_PREFIX})?{IDENTIFIER_PATTERN[1:]}"
IDENTIFIER_HINT = "use lower-case letters, digits, '.', '_' or '-' (for example 'checkout-api')"
PATTERN_HINTS = {
    IDENTIFIER_PATTERN: IDENTIFIER_HINT,
    TARGET_PATTERN: "use a responder id or 'schedule:<name>' (for example 'schedule:frontline')",
    PHONE_PATTERN: "write the number in E.164: '+', country code and number, no spaces (e.g. '+15550100101')",
    SLACK_MEMBER_PATTERN: "use the Slack member id (e.g. 'U024BE7LH'), not the @name",
}
"""What to write instead, for each pattern a configuration value must match."""

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, pattern=IDENTIFIER_PATTERN)]
"""Ids of responders, services, policies and tiers: lower-case letters, digits, ``.``, ``_``, ``-``."""


Target = Annotated[str, StringConstraints(strip_whitespace=True, pattern=TARGET_PATTERN)]
"""A tier target: a responder id, or ``schedule:<name>`` for whoever that schedule has on call
when the step is paged."""


def schedule_name(target: str) -> str | None:
    """The schedule a ``schedule:<name>`` target names; None for a responder id."""
    return target.removeprefix(SCHEDULE_PREFIX) if target.startswith(SCHEDULE_PREFIX) else None


def service_id(text: str) -> str:
    """``text`` as a service id, or a ValueError saying what to write (for filters typed by people)."""
    try:
        return TypeAdapter(Identifier).validate_python(text)
    except ValidationError:
        raise ValueError(f"{text!r} is not a service id; {IDENTIFIER_HINT}") from None


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
    """The base of every model, configuration and wire message alike: unknown keys are errors
    (a typo never passes silently) and values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Invisible marks that reorder how the text around them is displayed."""
MAX_LINE_CHARS = 1024
MAX_TEXT_CHARS = 20_000
MAX_KEY_CHARS = 200
MAX_LINKS = 20
MAX_LINK_CHARS = 2048


def is_control(char: str) -> bool:
    """Control characters, line and paragraph separators, lone surrogates and bidi overrides."""
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in BIDI_CONTROLS


def one_line(text: str) -> str:
    """Whitespace runs, line breaks included, become one space; other control characters go."""
    return "".join(char for char in " ".join(text.split()) if not is_control(char))


def multi_line(text: str) -> str:
    """Line breaks of any kind become ``\\n``; tabs become spaces; other control characters go."""
    lines = ("".join(c for c in line.replace("\t", " ") if not is_control(c)) for line in text.splitlines())
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _bounded(limit: int) -> AfterValidator:
    def check(text: str) -> str:
        if len(text) > limit:
            raise ValueError(f"is {len(text)} characters long; shorten it to at most {limit}")
        return text

    return AfterValidator(check)


def _required(text: str) -> str:
    if not text:
        raise ValueError("must not be blank; say in one line what is wrong")
    return text


def _key_without_controls(key: str) -> str:
    """A dedup key becomes part of ids, commands and message headers: it must be one visible line."""
    if bad := next((char for char in key if is_control(char) or unicodedata.category(char) == "Cf"), None):
        raise ValueError(
            f"contains the control character U+{ord(bad):04X}; use a key without line breaks, "
            "tabs or other control characters (e.g. 'db-primary-down')"
        )
    return key


_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_link(link: str) -> str:
    """Only http(s) links are clickable in pages, so ``javascript:`` and the like never are."""
    if len(link) > MAX_LINK_CHARS:
        raise ValueError(f"is {len(link)} characters long; links may be at most {MAX_LINK_CHARS}")
    try:
        return str(_HTTP_URL.validate_python(link.strip()))
    except ValidationError:
        raise ValueError(
            "is not an http(s) URL; give a link such as 'https://grafana.example.com/d/x'"
        ) from None


def _few_links(links: list[str]) -> list[str]:
    if len(links) > MAX_LINKS:
        raise ValueError(f"has {len(links)} links; keep the {MAX_LINKS} most useful")
    return links


OneLine = Annotated[str, AfterValidator(one_line), _bounded(MAX_LINE_CHARS)]
"""Text shown on one line (titles, places, names): whitespace collapsed, controls removed."""
MultiLine = Annotated[str, AfterValidator(multi_line), _bounded(MAX_TEXT_CHARS)]
"""Text that may span lines (summaries, report paragraphs): ``\\n`` line breaks, controls removed."""
DedupKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_KEY_CHARS),
    AfterValidator(_key_without_controls),
]
Link = Annotated[str, AfterValidator(_http_link)]
"""A link checked as an http(s) URL and kept normalised (unsafe characters percent-encoded)."""


class Report(Strict):
    """The facts every page carries, so nobody has to ask twice (5W1H)."""

    what_happened: MultiLine = ""
    where: OneLine = ""
    started_at: datetime | None = None
    impact: MultiLine = ""
    actions_taken: MultiLine = ""
    ask: MultiLine = ""
    reporter: OneLine = ""


class Incident(Strict):
    """An incident as reported by monitoring or people: untrusted text, made safe to show here.

    One-line fields lose line breaks and control characters, multi-line fields keep their
    line breaks only, dedup keys with control characters are refused, and links must be http(s).
    """

    title: Annotated[OneLine, AfterValidator(_required)]
    service: Identifier
    severity: Severity
    dedup_key: DedupKey
    summary: MultiLine = ""
    report: Report = Report()
    source: OneLine = "cli"
    links: Annotated[list[Link], AfterValidator(_few_links)] = []


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

    @property
    def slack_member(self) -> str | None:
        """Their Slack member id (``contact.slack.mention``), if the roster gives one."""
        return self.contact.slack.mention if self.contact.slack else None


class Roster(Strict):
    default_channels: ChannelList = [Channel.CONSOLE]
    responders: dict[Identifier, Responder] = Field(min_length=1)

    def channels_for(self, responder: str, severity: Severity) -> list[Channel]:
        """The responder's rule for this severity, else their default, else the roster's."""
        person = self.responders[responder]
        return person.by_severity.get(severity) or person.channels or self.default_channels

    def with_slack_member(self, member: str) -> str | None:
        """The responder whose ``contact.slack.mention`` is this Slack member id (who clicked a button)."""
        return next((rid for rid, person in self.responders.items() if person.slack_member == member), None)

    @model_validator(mode="after")
    def _one_responder_per_answering_address(self) -> Roster:
        """Answers from a Slack button or an SMS reply act as the responder with that address."""
        for key, address_of, why in (
            ("contact.slack.mention", lambda p: p.slack_member, "a Slack member id names one responder "
             "(their Slack buttons act as that one)"),
            ("contact.phone", lambda p: p.contact.phone, "a phone number names one responder "
             "(SMS replies from it act as that one)"),
        ):  # fmt: skip
            seen: dict[str, str] = {}
            for rid, person in self.responders.items():
                address = address_of(person)
                if address is None:
                    continue
                if address in seen:
                    raise ValueError(f"responders {seen[address]} and {rid} have the same {key}; {why}")
                seen[address] = rid
        return self


class Tier(Strict):
    name: Identifier
    primary: list[Target] = Field(min_length=1)
    backup: list[Target] = []
    ack_timeout: Duration
    backup_timeout: Duration | None = None
    channels: ChannelList | None = None
    """Overrides every target's own channels on this tier; default: each responder's rules."""

    def targets(self) -> list[str]:
        """Primary then backup targets, each once."""
        return list(dict.fromkeys((*self.primary, *self.backup)))

    @property
    def effective_backup_timeout(self) -> timedelta:
        """The backup waits as long as the primary unless the policy says otherwise."""
        return self.backup_timeout or self.ack_timeout


class SeverityRule(Strict):
    start_tier: Identifier | None = None
    timeout_scale: float = Field(default=1.0, gt=0, le=10)


class ReviewRule(Strict):
    """A policy's review requirement: which severities, when to remind the owner, how long to wait."""

    required_for: list[Severity] = [Severity.SEV1, Severity.SEV2]
    reminders: list[Duration] = [timedelta(days=1), timedelta(days=3)]
    """After the close, in order; each must fall inside the window."""
    window: Duration = timedelta(days=14)

    @model_validator(mode="after")
    def _reminders_inside_window(self) -> ReviewRule:
        for index, after in enumerate(self.reminders):
            if after >= self.window:
                raise ValueError(
                    f"review.reminders[{index}] falls at or after review.window; "
                    "remind before the window closes or lengthen the window"
                )
            if index and after <= self.reminders[index - 1]:
                raise ValueError(f"review.reminders[{index}] must come after review.reminders[{index - 1}]")
        return self

    def required(self, severity: Severity) -> bool:
        return severity in self.required_for


class EscalationPolicy(Strict):
    name: Identifier
    version: str
    description: str = ""
    tiers: list[Tier] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=20)
    repeat_from: Identifier | None = None
    """The tier every repeat round starts at; default: the severity's start tier."""
    severities: dict[Severity, SeverityRule] = {}
    resolve_deadline: Duration | None = None
    review: ReviewRule = ReviewRule()
    """Which escalations need a post-incident review, and its reminders and window."""

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
        if self.repeat_from is not None and self.repeat_from not in seen:
            raise ValueError(f"repeat_from {self.repeat_from!r} is not a tier; use one of {', '.join(seen)}")
        return self

    def rule(self, severity: Severity) -> SeverityRule:
        return self.severities.get(severity, SeverityRule())

    def responders(self) -> set[str]:
        """Every responder this policy names, primary or backup, on any tier (not its schedules' people)."""
        return {target for tier in self.tiers for target in tier.targets() if schedule_name(target) is None}

    def schedules(self) -> set[str]:
        """The schedules its tiers page (``schedule:<name>`` targets)."""
        return {name for tier in self.tiers for target in tier.targets() if (name := schedule_name(target))}

    def digest(self) -> str:
        """A short content hash, so an escalation's history shows exactly which rules applied."""
        # A policy that leaves out a later key (a default review rule, no repeat_from) digests as it
        # did before that key existed.
        later = {"review": ReviewRule(), "repeat_from": None}
        omitted = {key for key, default in later.items() if getattr(self, key) == default}
        fields = self.model_dump(mode="json", exclude=omitted)
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
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
