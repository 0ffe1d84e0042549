"""What a page (or a notice) says, and the operator-editable templates that say it on each channel.

Every page carries the incident's report, severity, tier and deadline, the incident id, its
Web UI link, the recipient's signed links to acknowledge, resolve and escalate (where links
are set up) and the exact commands, so a responder woken at night can act from the page alone.
Where links are set up an SMS also carries its reply code, and a call listens for a key.
An escalation's first page also carries the similar past incidents found for it.

A notice tells people how a finished escalation ended, or reminds its review's owner; it goes
out like a page, with templates of its own.
"""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import jinja2.sandbox
from pydantic import BaseModel, ConfigDict

from activities.action_links import LINK_ACTIONS, PageLinks
from escalation.channel_settings import ChannelSettings
from escalation.config import Config, load_config
from escalation.learning import NoticeKind, ReviewStatus, SimilarIncident
from escalation.models import Incident, Severity
from escalation.replies import PagedStep
from escalation.reports import headline, report_lines, utc_text
from escalation.state import EscalationRecord, Phase, Status
from escalation.text import mrkdwn, mrkdwn_code

TEMPLATE_FILES = {
    "subject": "email_subject.txt.j2",
    "text": "email.txt.j2",
    "html": "email.html.j2",
    "sms": "sms.txt.j2",
    "voice": "voice.txt.j2",
    "slack": "slack.json.j2",
}
"""Template role -> file name in the templates directory."""
NOTICE_TEMPLATE_FILES = {
    "subject": "notice_subject.txt.j2",
    "text": "notice.txt.j2",
    "html": "notice.html.j2",
    "sms": "notice_sms.txt.j2",
    "slack": "notice_slack.json.j2",
}
"""The same for notices; there is no voice template: a notice never rings anyone."""


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    links: PageLinks | None = None
    """Their signed links to acknowledge, resolve and escalate (None where links are not set up)."""
    reply_code: int | None = None
    """On an SMS: the code their reply names this incident by ("1a" acknowledges)."""
    call_answer_url: str | None = None
    """On a call: where Twilio sends the key they press."""
    review_url: str | None = None
    """On a notice to the owner of a pending review: their signed link to the review form."""


class Page(BaseModel):
    """Everything a template may use. Names, not contact details: those stay with the channels."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    incident: Incident
    headline: str
    severity: Severity
    tier: str
    phase: str
    round: int
    deadline: datetime
    report: list[tuple[str, str]]
    recipients: list[Recipient]
    web_ui_url: str
    acknowledge_command: str
    resolve_command: str
    idempotency_key: str
    step: PagedStep | None = None
    """The escalation and ladder step this page is for; None for a page without the escalation's
    opening time, which then offers no chat buttons."""
    similar: list[SimilarIncident] = []
    """Similar past incidents (on an escalation's first page): what happened then, and what helped."""

    @property
    def step_value(self) -> str:
        """``step`` as compact JSON: the value of a chat button, naming what the answer is for."""
        return self.step.model_dump_json() if self.step else ""

    @property
    def deadline_text(self) -> str:
        return utc_text(self.deadline)

    @property
    def links(self) -> PageLinks | None:
        """The action links of a page to one person; a page to several carries each one's."""
        return self.recipients[0].links if len(self.recipients) == 1 else None

    @property
    def reply_code(self) -> int | None:
        """An SMS page's reply code (None without one: links not set up, or the book unreachable)."""
        return self.recipients[0].reply_code if len(self.recipients) == 1 else None

    @classmethod
    def build(
        cls,
        *,
        incident_id: str,
        incident: Incident,
        severity: Severity,
        tier: str,
        phase: str,
        round: int,
        deadline: datetime,
        recipients: list[Recipient],
        web_ui_url: str,
        idempotency_key: str,
        step: PagedStep | None = None,
        similar: list[SimilarIncident] | None = None,
    ) -> Page:
        """A page to ``recipients``; with one recipient the commands name them with ``--as``."""
        who = recipients[0].id if len(recipients) == 1 else "YOUR-ID"
        target = shlex.quote(incident_id)
        return cls(
            incident_id=incident_id,
            incident=incident,
            headline=headline(incident, severity),
            severity=severity,
            tier=tier,
            phase=phase,
            round=round,
            deadline=deadline,
            report=report_lines(incident),
            recipients=recipients,
            web_ui_url=web_ui_url,
            acknowledge_command=f"escalate ack {target} --as {who}",
            resolve_command=f'escalate resolve {target} --as {who} --summary "what fixed it"',
            idempotency_key=idempotency_key,
            step=step,
            similar=similar or [],
        )


class Notice(BaseModel):
    """Everything a notice template may use: how a finished escalation ended, or that its review
    is due. Like a page, it names people and never holds their contact details."""

    model_config = ConfigDict(frozen=True)

    kind: NoticeKind
    incident_id: str
    incident: Incident
    headline: str
    severity: Severity
    outcome: Status
    """``resolved`` or ``cancelled``."""
    closed_by: str
    """Who resolved or cancelled it: their roster name, else as recorded (e.g. an integration)."""
    closed_at: datetime | None
    summary: str
    """The resolution's summary, or why it was cancelled."""
    root_cause: str
    recipients: list[Recipient]
    web_ui_url: str
    idempotency_key: str
    review_due: datetime | None = None
    """When the review window closes, while the review is pending."""
    review_owner: str | None = None
    """The review owner's name, on a message to them while the review is pending."""
    review_command: str | None = None
    """On a message to the review's owner: the command that submits it, naming them."""

    @property
    def closed_at_text(self) -> str:
        return utc_text(self.closed_at)

    @property
    def review_due_text(self) -> str:
        return utc_text(self.review_due)

    @property
    def review_url(self) -> str | None:
        """The review owner's link, when this message reaches them and links are set up."""
        return next((r.review_url for r in self.recipients if r.review_url), None)

    @classmethod
    def build(
        cls,
        *,
        kind: NoticeKind,
        record: EscalationRecord,
        recipients: list[Recipient],
        closed_by: str,
        web_ui_url: str,
        idempotency_key: str,
        review_owner: Recipient | None = None,
    ) -> Notice:
        """A notice about ``record``; ``review_owner`` when it reaches the owner of a pending review."""
        resolution = record.resolution
        review = record.review if record.review and record.review.status is ReviewStatus.PENDING else None
        return cls(
            kind=kind,
            incident_id=record.incident_id,
            incident=record.incident,
            headline=headline(record.incident, record.severity),
            severity=record.severity,
            outcome=record.outcome,
            closed_by=closed_by,
            closed_at=record.resolved_at,
            summary=resolution.summary if resolution else "",
            root_cause=resolution.root_cause if resolution else "",
            recipients=recipients,
            web_ui_url=web_ui_url,
            idempotency_key=idempotency_key,
            review_due=review.due_at if review else None,
            review_owner=review_owner.name if review_owner else None,
            review_command=(
                f"escalate review {shlex.quote(record.incident_id)} --as {review_owner.id}"
                if review_owner
                else None
            ),
        )


SAMPLE_LINKS = PageLinks(**{action: f"https://escalations.example/a/{action}" for action in LINK_ACTIONS})
SAMPLE_STEP = PagedStep(
    incident_id="incident:sample:check",
    triggered_at=datetime(2026, 1, 1, tzinfo=UTC),
    round=0,
    tier_name="frontline",
    phase=Phase.PRIMARY,
)
SAMPLE_SIMILAR = SimilarIncident(
    incident_id="incident:sample:earlier",
    service="sample",
    severity=Severity.SEV2,
    title="Sample, last time",
    triggered_at=datetime(2025, 12, 1, tzinfo=UTC),
    resolved_by="sample",
    root_cause="A sample root cause",
    prevention=["A sample prevention action"],
    link="http://localhost:8233/namespaces/default/workflows/incident%3Asample%3Aearlier",
)
SAMPLE_PAGES = ((SAMPLE_LINKS, SAMPLE_STEP, [SAMPLE_SIMILAR]), (None, SAMPLE_STEP, []), (None, None, []))
"""Pages every template is tried on at load: with and without links, step and similar incidents."""


class PageTemplateError(Exception):
    """A template is missing, does not parse, or fails on a sample page; ``problems`` says which."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class PageTemplates:
    """The templates directory, loaded once and checked by rendering a sample page and notices.

    Templates run sandboxed: they read the page (``page``) or notice (``notice``), never the
    worker's internals or environment.
    The ``mrkdwn`` and ``mrkdwn_code`` filters escape incident text for Slack; ``utc`` writes a time.
    """

    def __init__(self, directory: Path) -> None:
        self._env = jinja2.sandbox.ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            keep_trailing_newline=False,
        )
        self._env.filters.update(mrkdwn=mrkdwn, mrkdwn_code=mrkdwn_code, utc=utc_text)
        self._directory = directory
        self._templates: dict[str, jinja2.Template] = {}
        problems = []
        for name in (*TEMPLATE_FILES.values(), *NOTICE_TEMPLATE_FILES.values()):
            try:
                self._templates[name] = self._env.get_template(name)
            except jinja2.TemplateNotFound:
                problems.append(f"{directory / name}: template is missing; copy it from config/templates")
            except jinja2.TemplateSyntaxError as error:
                problems.append(f"{directory / name}: line {error.lineno}: {error.message}; fix the template")
        if not problems:
            problems = self._sample_problems()
        if problems:
            raise PageTemplateError(problems)

    def render(self, role: str, page: Page | Notice, **extra: object) -> str:
        """``role``'s template for a page, or its notice counterpart for a notice."""
        if isinstance(page, Notice):
            return self._templates[NOTICE_TEMPLATE_FILES[role]].render(notice=page, **extra).strip()
        return self._templates[TEMPLATE_FILES[role]].render(page=page, **extra).strip()

    def slack_message(self, page: Page | Notice, mentions: str) -> dict[str, object]:
        """The Slack template's output parsed as the JSON body of an incoming-webhook post."""
        message = json.loads(self.render("slack", page, mentions=mentions))
        if not isinstance(message, dict):
            name = (NOTICE_TEMPLATE_FILES if isinstance(page, Notice) else TEMPLATE_FILES)["slack"]
            raise ValueError(f"{name} must render a JSON object")
        return message

    def _sample_problems(self) -> list[str]:
        """Render every template now: pages with and without action links, step and similar
        incidents, notices of each kind with and without a review, so a typo fails at start-up
        rather than at 3 a.m."""
        problems = []
        samples: list[tuple[Page | Notice, dict[str, str]]] = [
            *((_sample_page(*sample), TEMPLATE_FILES) for sample in SAMPLE_PAGES),
            *((notice, NOTICE_TEMPLATE_FILES) for notice in _sample_notices()),
        ]
        for sample, files in samples:
            for role, name in files.items():
                try:
                    if role == "slack":
                        self.slack_message(sample, mentions="<@U0SAMPLE>")
                    else:
                        self.render(role, sample)
                except (jinja2.TemplateError, ValueError, TypeError) as error:
                    problems.append(f"{self._directory / name}: {error}; fix the template")
        return list(dict.fromkeys(problems))


def _sample_page(links: PageLinks | None, step: PagedStep | None, similar: list[SimilarIncident]) -> Page:
    """A page with links (and so an SMS reply code and a call's answer URL), or with none."""
    recipient = Recipient(
        id="sample",
        name="Sample Responder",
        links=links,
        reply_code=1 if links else None,
        call_answer_url="https://escalations.example/v1/twilio/voice/sample" if links else None,
    )
    return Page.build(
        incident_id="incident:sample:check",
        incident=Incident(
            title="Sample", service="sample", severity=Severity.SEV2, dedup_key="check", links=["https://x"]
        ),
        severity=Severity.SEV2,
        tier="frontline",
        phase="primary",
        round=1,
        deadline=datetime(2026, 1, 1, tzinfo=UTC),
        recipients=[recipient],
        web_ui_url="http://localhost:8233",
        idempotency_key="sample",
        step=step,
        similar=similar,
    )


def _sample_notices() -> list[Notice]:
    """Each kind, resolved and cancelled: to the review's owner (with a link, or without links set
    up), to someone else while a review is pending, and with no review."""
    base = _sample_page(None, None, [])
    person = Recipient(id="sample", name="Sample Responder")
    linked = person.model_copy(update={"review_url": "https://escalations.example/r/sample"})
    due = datetime(2026, 1, 15, tzinfo=UTC)
    command = "escalate review incident:sample:check --as sample"
    return [
        Notice(
            kind=kind,
            incident_id=base.incident_id,
            incident=base.incident,
            headline=base.headline,
            severity=base.severity,
            outcome=outcome,
            closed_by="Sample Responder",
            closed_at=datetime(2026, 1, 1, tzinfo=UTC),
            summary="Sample summary",
            root_cause="",
            recipients=[recipient],
            web_ui_url=base.web_ui_url,
            idempotency_key="sample",
            review_due=review_due,
            review_owner=recipient.name if owner else None,
            review_command=command if owner else None,
        )
        for kind in NoticeKind
        for outcome in (Status.RESOLVED, Status.CANCELLED)
        for recipient, review_due, owner in (
            (linked, due, True),
            (person, due, True),
            (person, due, False),
            (person, None, False),
        )
    ]


def template_problems(directory: Path, channels: ChannelSettings) -> list[str]:
    """``load_config``'s check that the page templates load and render (``ChannelCheck``)."""
    try:
        PageTemplates(directory / channels.templates)
    except PageTemplateError as error:
        return error.problems
    return []


def load_worker_config(directory: Path) -> Config:
    """The configuration as a worker needs it: channels included, page templates checked."""
    return load_config(directory, channel_checks=[template_problems])
