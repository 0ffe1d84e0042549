"""Paging one ladder step: every target on every channel their rules (or the tier) choose, at once.

The request names responder ids only; contact details and secrets are looked up here, in the
worker, and scrubbed from every failure reason, so they never enter a workflow's history.
Each message is retried with exponential backoff, and all of them end within the request's
``deliver_within``: a dead channel costs the ladder seconds, never the step's whole timeout.
An SMS gets its reply code first, within a few seconds; without one it still goes out.
An escalation's first page carries similar past incidents, looked up meanwhile within two
seconds; without them it still goes out.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

import structlog
from standardwebhooks.webhooks import Webhook
from temporalio import activity
from temporalio.client import Client
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from activities.action_links import ActionLinks
from activities.channels.base import DeliveryError, Message, Sender
from activities.channels.console import ConsoleSender
from activities.channels.email import EmailSender
from activities.channels.slack import SlackSender
from activities.channels.twilio import TwilioSender
from activities.channels.webhook import Endpoint, WebhookSender
from activities.contact_routing import Send, plan
from activities.knowledge import SIMILAR_SECONDS, Found, Knowledge, SimilarLookup
from activities.pages import Page, PageTemplateError, PageTemplates, Recipient
from activities.reply_codes import ReplyCodes
from escalation.channel_settings import USERNAME_PATH, ChannelSettings
from escalation.config import CHANNELS_FILE, Config, ConfigError
from escalation.learning import SimilarIncident
from escalation.models import Channel
from escalation.replies import PagedStep
from escalation.reports import web_ui_url
from escalation.state import NOTIFY_ACTIVITY, Delivery, NotifyRequest, NotifyResult

MAX_ATTEMPTS = 4
"""Per message: with backoff of about 0.5 s, 1 s, 2 s a dead endpoint is given up in seconds."""
HEARTBEAT_SECONDS = 1.0
REDACTED = "[redacted]"
MIN_REDACTED_LENGTH = 6
REPLY_CODE_SECONDS = 5.0
"""At most this (and half the page's time bound) goes to assigning an SMS's reply code."""


def _worth_retrying(error: BaseException) -> bool:
    return isinstance(error, DeliveryError) and error.retry


class Notifier:
    def __init__(
        self,
        config: Config,
        env: Mapping[str, str],
        ui_url: str,
        namespace: str,
        links: ActionLinks | None = None,
        client: Client | None = None,
        similar: SimilarLookup | None = None,
    ) -> None:
        """Resolve every configured channel's secrets now: a worker missing one, or with a webhook
        secret the signing library cannot use, refuses to start.

        ``links`` mints each recipient's signed action links; without it pages carry commands only.
        With links, ``client`` keeps the responders' SMS reply codes in Temporal. ``similar`` finds
        the past incidents an escalation's first page carries; without it pages carry none.
        """
        settings = config.channels
        if problems := settings.secret_problems(env, str(config.directory / CHANNELS_FILE)):
            raise ConfigError(problems)
        self._roster = config.roster
        self._settings = settings
        self._ui_url = ui_url
        self._namespace = namespace
        self._links = links
        self._reply_codes = ReplyCodes(client) if links and client else None
        self._senders = self._build_senders(config, env)
        sensitive = self._sensitive_values(settings, env)
        self._sensitive = (
            re.compile("|".join(map(re.escape, sensitive)), re.IGNORECASE) if sensitive else None
        )
        self._knowledge = Knowledge(similar, self._web_ui_url, self.redact) if similar else None

    def _build_senders(self, config: Config, env: Mapping[str, str]) -> dict[Channel, Sender]:
        settings, roster = config.channels, config.roster
        senders: dict[Channel, Sender] = {Channel.CONSOLE: ConsoleSender()}
        if not (settings.email or settings.twilio or settings.slack or settings.webhooks):
            return senders
        try:
            templates = PageTemplates(config.directory / settings.templates)
        except PageTemplateError as error:
            raise ConfigError(error.problems) from None
        if settings.email:
            senders[Channel.EMAIL] = EmailSender(settings.email, env, roster, templates)
        if settings.twilio:
            for channel in (Channel.SMS, Channel.VOICE):
                senders[channel] = TwilioSender(channel, settings.twilio, env, roster, templates)
        if settings.slack:
            urls = {name: endpoint.resolved_url(env) for name, endpoint in settings.slack.items()}
            senders[Channel.SLACK] = SlackSender(urls, roster, templates)
        if settings.webhooks:
            endpoints = {
                name: Endpoint(url=endpoint.resolved_url(env), signer=Webhook(env[endpoint.secret_env]))
                for name, endpoint in settings.webhooks.items()
            }
            senders[Channel.WEBHOOK] = WebhookSender(endpoints)
        return senders

    def _sensitive_values(self, settings: ChannelSettings, env: Mapping[str, str]) -> list[str]:
        """Every contact detail, endpoint URL and secret, longest first, to scrub from reasons."""
        values: set[str] = set()
        for person in self._roster.responders.values():
            contact = person.contact
            values |= {str(v) for v in (contact.email, contact.phone) if v}
            if contact.slack and contact.slack.mention:
                values.add(contact.slack.mention)
        for endpoint in (*settings.slack.values(), *settings.webhooks.values()):
            values |= _quoted_forms(endpoint.resolved_url(env))
        values |= {
            env[name] for path, name in settings.secret_names() if env.get(name) and path != USERNAME_PATH
        }
        # A short value (a username like "apikey") would blot out ordinary words in every reason.
        return sorted((v for v in values if len(v) >= MIN_REDACTED_LENGTH), key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Scrub every URL's path and credentials, every known secret and contact detail (in any
        case) and every e-mail address, however a server or library spelt them."""
        text = _URL.sub(_origin_only, text)
        if self._sensitive:
            text = self._sensitive.sub(REDACTED, text)
        return _EMAIL_ADDRESS.sub(REDACTED, text)

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, request: NotifyRequest) -> NotifyResult:
        log = structlog.get_logger().bind(
            incident_id=request.incident_id,
            tier=request.tier_name,
            phase=request.phase.value,
            idempotency_key=request.idempotency_key,
        )
        sends, refused = plan(
            self._roster, self._settings, request.targets, request.severity, request.channels
        )
        info = activity.info()
        delivered_before = set(info.heartbeat_details[0]) if info.heartbeat_details else set()
        delivered: set[str] = set(delivered_before)
        # A retried attempt gets only what is left of the page's bound (both times are the server's).
        spent = max((info.started_time - info.scheduled_time).total_seconds(), 0)
        deadline = asyncio.get_running_loop().time() + max(request.deliver_within.total_seconds() - spent, 0)
        heartbeat = asyncio.create_task(self._keep_heartbeating(delivered))
        knowledge = asyncio.create_task(self._similar(request, deadline))
        try:
            outcomes = await asyncio.gather(
                *(self._deliver(request, send, deadline, delivered, knowledge) for send in sends)
            )
            similar, similar_problem = await knowledge
        finally:
            knowledge.cancel()
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        deliveries = list(refused)
        for send, (ok, detail) in zip(sends, outcomes, strict=True):
            key = send.key(request.idempotency_key)
            if key in delivered_before:
                detail = "delivered by an earlier attempt of this page"
            for responder in send.responders:
                deliveries.append(
                    Delivery(responder=responder, channel=send.channel, delivered=ok, detail=detail)
                )
        for delivery in deliveries:
            (log.info if delivery.delivered else log.warning)(
                "delivery",
                responder=delivery.responder,
                channel=delivery.channel,
                delivered=delivery.delivered,
                detail=delivery.detail,
            )
        return NotifyResult(deliveries=deliveries, similar=similar, similar_problem=similar_problem)

    async def _similar(self, request: NotifyRequest, deadline: float) -> Found:
        """A first page's similar past incidents, within two seconds and a quarter of what is left."""
        if self._knowledge is None:
            return None, ""
        within = min(SIMILAR_SECONDS, (deadline - asyncio.get_running_loop().time()) / 4)
        return await self._knowledge.find(request, within)

    def _web_ui_url(self, incident_id: str) -> str:
        return web_ui_url(self._ui_url, self._namespace, incident_id)

    def _message(
        self, request: NotifyRequest, send: Send, reply_code: int | None, similar: list[SimilarIncident]
    ) -> Message:
        links = self._links if request.triggered_at else None
        calling = links if send.channel is Channel.VOICE else None
        recipients = [
            Recipient(
                id=r,
                name=self._roster.responders[r].name,
                links=links.for_recipient(request, r) if links else None,
                reply_code=reply_code,
                call_answer_url=calling.for_call(request, r) if calling else None,
            )
            for r in send.responders
        ]
        key = send.key(request.idempotency_key)
        page = Page.build(
            incident_id=request.incident_id,
            incident=request.incident,
            severity=request.severity,
            tier=request.tier_name,
            phase=request.phase.value,
            round=request.round + 1,
            deadline=request.deadline,
            recipients=recipients,
            web_ui_url=self._web_ui_url(request.incident_id),
            idempotency_key=key,
            step=PagedStep.of(request),
            similar=similar,
        )
        return Message(send=send, key=key, page=page)

    async def _deliver(
        self,
        request: NotifyRequest,
        send: Send,
        deadline: float,
        delivered: set[str],
        knowledge: asyncio.Task[Found],
    ) -> tuple[bool, str]:
        """Send one message with retries until it is delivered, refused for good, or out of time.

        Its reply code and the page's similar incidents (shared by every message) are looked up
        at once, each within its own bound.
        """
        if send.key(request.idempotency_key) in delivered:
            return True, ""
        attempts, last_failure = 0, ""
        try:
            reply_code, (similar, _) = await asyncio.gather(
                self._reply_code(request, send, deadline), asyncio.shield(knowledge)
            )
            message = self._message(request, send, reply_code, similar or [])
            sender = self._senders[send.channel]
            async with asyncio.timeout_at(deadline):
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(MAX_ATTEMPTS),
                    wait=wait_exponential(multiplier=0.5, max=4) + wait_random(0, 0.25),
                    retry=retry_if_exception(_worth_retrying),
                    reraise=True,
                ):
                    with attempt:
                        attempts += 1
                        try:
                            await sender.send(message)
                        except DeliveryError as error:
                            last_failure = error.reason
                            raise
        except DeliveryError as error:
            outcome = "gave up" if error.retry else "refused"
            return False, self.redact(f"{error.reason} ({outcome} after {_attempts(attempts)})")
        except TimeoutError:
            if last_failure:
                reason = f"out of the page's time bound after {_attempts(attempts)}; last: {last_failure}"
            else:
                reason = f"no answer within the page's time bound ({_attempts(attempts)})"
            return False, self.redact(reason)
        except Exception as error:  # a broken template or sender must not hide the other deliveries
            return False, self.redact(f"unexpected {type(error).__name__}: {error}")
        delivered.add(message.key)
        return True, "" if attempts == 1 else f"delivered on attempt {attempts}"

    async def _reply_code(self, request: NotifyRequest, send: Send, deadline: float) -> int | None:
        """An SMS's code in its reader's book; None where links are not set up, or when the book
        cannot be reached in time (the SMS then carries its link only)."""
        if self._reply_codes is None or send.channel is not Channel.SMS or request.triggered_at is None:
            return None
        [responder] = send.responders
        now = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout_at(now + min(REPLY_CODE_SECONDS, (deadline - now) / 2)):
                return await self._reply_codes.assign(responder, request, activity.info().task_queue)
        except Exception as error:  # a page never waits on, or fails for, its reply code
            structlog.get_logger().warning(
                "sms without a reply code",
                incident_id=request.incident_id,
                responder=responder,
                reason=self.redact(f"{type(error).__name__}: {error}"),
            )
            return None

    async def _keep_heartbeating(self, delivered: set[str]) -> None:
        """Tell Temporal this worker is alive, and what it has delivered, so a retry skips those.

        The first beat waits a second: most pages are done by then, and a beat is a round trip to
        the server. A worker lost within that second has its page sent again by the retry, under
        the same idempotency keys.
        """
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            activity.heartbeat(sorted(delivered))


_URL = re.compile(
    r"(?P<origin>[a-z][a-z0-9+.-]*://)(?:[^\s/?#@'\"<>]*@)?"  # scheme, then any user:password@
    r"(?P<host>\[[0-9a-f:.]*\]|[^\s/?#:@'\"<>()\[\]]*)(?P<port>:\d*)?"
    r"(?P<rest>[/?#][^\s'\"<>]*)?",
    re.IGNORECASE,
)
"""A URL as it appears in a reason or a ``URL('…')`` repr; the rest runs to a space or quote."""
_EMAIL_ADDRESS = re.compile(r"[\w.!#$%&*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def _origin_only(url: re.Match[str]) -> str:
    """``scheme://host:port``, with a marker where a path, query, fragment or credentials were."""
    origin = url["origin"] + url["host"] + (url["port"] or "")
    hidden = url["rest"] not in (None, "/") or "@" in url[0]
    return f"{origin}/{REDACTED}" if hidden else origin


def _quoted_forms(url: str) -> set[str]:
    """A secret URL and its path and query alone, raw and percent-decoded, as a server may echo it."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed URL from the environment: aiohttp refuses it before sending
        return {url}
    path = urlunsplit(("", "", parts.path, parts.query, ""))
    return {url, path, unquote(path)}


def _attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"
