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
from collections.abc import Mapping

import structlog
from temporalio import activity
from temporalio.client import Client

from activities.action_links import ActionLinks
from activities.channels.base import Message
from activities.contact_routing import Send, plan
from activities.delivery import Deliverer
from activities.knowledge import SIMILAR_SECONDS, Found, Knowledge, SimilarLookup
from activities.pages import Page, Recipient
from activities.reply_codes import ReplyCodes
from escalation.config import Config
from escalation.learning import SimilarIncident
from escalation.models import Channel
from escalation.replies import PagedStep
from escalation.reports import web_ui_url
from escalation.state import NOTIFY_ACTIVITY, NotifyRequest, NotifyResult

REPLY_CODE_SECONDS = 5.0
"""At most this (and half the page's time bound) goes to assigning an SMS's reply code."""


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
        """Set up every configured channel now (``Deliverer``): a worker missing a secret refuses
        to start.

        ``links`` mints each recipient's signed action links; without it pages carry commands only.
        With links, ``client`` keeps the responders' SMS reply codes in Temporal. ``similar`` finds
        the past incidents an escalation's first page carries; without it pages carry none.
        """
        self.deliverer = Deliverer(config, env)
        self._roster = config.roster
        self._settings = config.channels
        self._ui_url = ui_url
        self._namespace = namespace
        self._links = links
        self._reply_codes = ReplyCodes(client) if links and client else None
        self._knowledge = Knowledge(similar, self._web_ui_url, self.redact) if similar else None

    def redact(self, text: str) -> str:
        """``text`` without contact details, secrets or URL paths (``Deliverer.redact``)."""
        return self.deliverer.redact(text)

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
        # A retried attempt gets only what is left of the page's bound (both times are the server's).
        info = activity.info()
        spent = max((info.started_time - info.scheduled_time).total_seconds(), 0)
        deadline = asyncio.get_running_loop().time() + max(request.deliver_within.total_seconds() - spent, 0)

        knowledge = asyncio.create_task(self._similar(request, deadline))

        async def compose(send: Send, deadline: float) -> Message:
            """Its reply code and the page's similar incidents (shared by every message), at once."""
            reply_code, (similar, _) = await asyncio.gather(
                self._reply_code(request, send, deadline), asyncio.shield(knowledge)
            )
            return self._message(request, send, reply_code, similar or [])

        try:
            deliveries = await self.deliverer.deliver(
                sends, refused, request.idempotency_key, deadline, compose, "page", log
            )
            similar, similar_problem = await knowledge
        finally:
            knowledge.cancel()
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
