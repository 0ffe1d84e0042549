"""Sending messages on every configured channel, as pages and notices both need it.

One sender per channel is built at start, with its secrets checked. Each message is retried
with exponential backoff, and all of a request's messages end within its bound. Delivered
keys are heartbeated, so a retried activity skips them. Every failure reason is scrubbed of
contact details and secrets before it leaves the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

from standardwebhooks.webhooks import Webhook
from structlog.typing import FilteringBoundLogger
from temporalio import activity
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from activities.channels.base import DeliveryError, Message, Sender
from activities.channels.console import ConsoleSender
from activities.channels.email import EmailSender
from activities.channels.slack import SlackSender
from activities.channels.twilio import TwilioSender
from activities.channels.webhook import Endpoint, WebhookSender
from activities.contact_routing import Send
from activities.pages import PageTemplateError, PageTemplates
from escalation.channel_settings import USERNAME_PATH, ChannelSettings
from escalation.config import CHANNELS_FILE, Config, ConfigError
from escalation.models import Channel, Roster
from escalation.state import Delivery

MAX_ATTEMPTS = 4
"""Per message: with backoff of about 0.5 s, 1 s, 2 s a dead endpoint is given up in seconds."""
HEARTBEAT_SECONDS = 1.0
REDACTED = "[redacted]"
MIN_REDACTED_LENGTH = 6

Compose = Callable[[Send, float], Awaitable[Message]]
"""Builds one send's message; it gets the deadline, for any look-up the message needs first."""


def _worth_retrying(error: BaseException) -> bool:
    return isinstance(error, DeliveryError) and error.retry


class Deliverer:
    def __init__(self, config: Config, env: Mapping[str, str]) -> None:
        """Resolve every configured channel's secrets now: a worker missing one, or with a webhook
        secret the signing library cannot use, refuses to start."""
        settings = config.channels
        if problems := settings.secret_problems(env, str(config.directory / CHANNELS_FILE)):
            raise ConfigError(problems)
        self.roster: Roster = config.roster
        self.settings: ChannelSettings = settings
        self._senders = self._build_senders(config, env)
        sensitive = self._sensitive_values(settings, env)
        self._sensitive = (
            re.compile("|".join(map(re.escape, sensitive)), re.IGNORECASE) if sensitive else None
        )

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
        for person in self.roster.responders.values():
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

    async def deliver(
        self,
        sends: list[Send],
        refused: list[Delivery],
        request_key: str,
        deadline: float,
        compose: Compose,
        what: str,
        log: FilteringBoundLogger,
    ) -> list[Delivery]:
        """Send every message at once, each until delivered, refused for good, or ``deadline``
        (event-loop time); the outcome per responder and channel, ``refused`` first, logged.

        ``what`` ("page", "notice") names the request in the reasons.
        """
        info = activity.info()
        delivered_before = set(info.heartbeat_details[0]) if info.heartbeat_details else set()
        delivered: set[str] = set(delivered_before)
        heartbeat = asyncio.create_task(self._keep_heartbeating(delivered))
        try:
            outcomes = await asyncio.gather(
                *(
                    self._deliver(send, send.key(request_key), deadline, compose, what, delivered)
                    for send in sends
                )
            )
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        deliveries = list(refused)
        for send, (ok, detail) in zip(sends, outcomes, strict=True):
            if send.key(request_key) in delivered_before:
                detail = f"delivered by an earlier attempt of this {what}"
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
        return deliveries

    async def _deliver(
        self, send: Send, key: str, deadline: float, compose: Compose, what: str, delivered: set[str]
    ) -> tuple[bool, str]:
        """Send one message with retries until it is delivered, refused for good, or out of time."""
        if key in delivered:
            return True, ""
        attempts, last_failure = 0, ""
        try:
            message = await compose(send, deadline)
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
                reason = f"out of the {what}'s time bound after {_attempts(attempts)}; last: {last_failure}"
            else:
                reason = f"no answer within the {what}'s time bound ({_attempts(attempts)})"
            return False, self.redact(reason)
        except Exception as error:  # a broken template or sender must not hide the other deliveries
            return False, self.redact(f"unexpected {type(error).__name__}: {error}")
        delivered.add(message.key)
        return True, "" if attempts == 1 else f"delivered on attempt {attempts}"

    async def _keep_heartbeating(self, delivered: set[str]) -> None:
        """Tell Temporal this worker is alive, and what it has delivered, so a retry skips those.

        The first beat waits a second: most requests are done by then, and a beat is a round trip
        to the server. A worker lost within that second has its messages sent again by the retry,
        under the same idempotency keys.
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
