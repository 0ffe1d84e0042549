"""Notices about finished escalations: how one ended, with thanks, and its review's reminders.

A notice goes out like a page, through the same senders, templates, idempotency keys, retries
and scrubbed failure reasons (``Deliverer``), but it is never part of the ladder: an
undelivered notice is reported per responder and channel, and changes nothing.

Each person gets it on the channels that reached them with this escalation's pages (someone it
never paged, such as the reporter, on their own rules for its severity). A notice never rings
anyone: where a page came by call, the notice comes by SMS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, timedelta

import structlog
from temporalio import activity

from activities.action_links import ActionLinks
from activities.channels.base import Message
from activities.contact_routing import Send, plan_each
from activities.delivery import Deliverer
from activities.pages import Notice, Recipient
from escalation import reviews
from escalation.learning import NoticeKind, ReviewStatus
from escalation.models import Channel, Roster
from escalation.reports import web_ui_url
from escalation.state import NOTICE_ACTIVITY, EscalationRecord, EventKind, NoticeRequest, NotifyResult

DELIVER_WITHIN = timedelta(seconds=15)
"""All of a notice's messages end within this, retries included: the close-out sends it inside
its own 30-second attempt, and ``send_notice`` needs a start-to-close timeout above it."""


def notice_key(record: EscalationRecord, kind: NoticeKind) -> str:
    """The notice's idempotency key: one escalation (incident id and opening time) and kind.
    Each message adds its channel and destination, so a retried close-out sends the same keys."""
    return f"{record.incident_id}/{record.triggered_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}/{kind.value}"


def reached(record: EscalationRecord) -> list[str]:
    """Everyone the escalation's pages reached, each once, in the order they were paged."""
    return list(
        dict.fromkeys(
            t for event in record.timeline if event.kind is EventKind.NOTIFIED for t in event.targets
        )
    )


def closing_notice(record: EscalationRecord, roster: Roster) -> NoticeRequest:
    """The ``closed`` notice: to everyone the escalation paged, the reporter when they are on the
    roster, and the owner of a pending review (who needs its link, paged or not)."""
    reporter = record.incident.report.reporter
    review = record.review
    owner = review.owner if review and review.status is ReviewStatus.PENDING else None
    extra = [who for who in (reporter, owner) if who and who in roster.responders]
    return NoticeRequest(
        kind=NoticeKind.CLOSED,
        idempotency_key=notice_key(record, NoticeKind.CLOSED),
        record=record,
        recipients=list(dict.fromkeys([*reached(record), *extra])),
    )


def notice_channels(record: EscalationRecord, roster: Roster, responder: str) -> list[Channel]:
    """The channels that reached ``responder`` with this escalation's pages, else their own rules;
    SMS instead of a call."""
    paged_on = [
        event.channel
        for event in record.timeline
        if event.kind is EventKind.NOTIFIED and event.channel and responder in event.targets
    ]
    chosen = paged_on or roster.channels_for(responder, record.severity)
    return list(dict.fromkeys(Channel.SMS if channel is Channel.VOICE else channel for channel in chosen))


class Notices:
    def __init__(
        self, deliverer: Deliverer, ui_url: str, namespace: str, links: ActionLinks | None = None
    ) -> None:
        """``deliverer`` is the worker's (``Notifier.deliverer``); with ``links`` the review's owner
        gets their signed review link."""
        self._deliverer = deliverer
        self.roster = deliverer.roster
        self._ui_url = ui_url
        self._namespace = namespace
        self._links = links

    def redact(self, text: str) -> str:
        return self._deliverer.redact(text)

    async def send(self, request: NoticeRequest) -> NotifyResult:
        """Send the notice to every recipient; failures are reported per delivery, never raised."""
        record = request.record
        log = structlog.get_logger().bind(
            incident_id=record.incident_id, notice=request.kind.value, idempotency_key=request.idempotency_key
        )
        sends, refused = plan_each(
            self.roster,
            self._deliverer.settings,
            request.recipients,
            lambda responder: notice_channels(record, self.roster, responder),
        )
        deadline = asyncio.get_running_loop().time() + DELIVER_WITHIN.total_seconds()
        review_urls = self._review_urls(record)

        async def compose(send: Send, deadline: float) -> Message:
            return self._message(request, send, review_urls)

        deliveries = await self._deliverer.deliver(
            sends, refused, request.idempotency_key, deadline, compose, "notice", log
        )
        return NotifyResult(deliveries=deliveries)

    @activity.defn(name=NOTICE_ACTIVITY)
    async def send_notice(self, request: NoticeRequest) -> NotifyResult:
        """``send`` as an activity, for notices a workflow sends (the review's reminders)."""
        return await self.send(request)

    async def close(self, record: EscalationRecord) -> None:
        """The ``closed`` notice, for the close-out once the record is saved: nothing here may fail
        it, or Temporal would retry a close-out that has done its work."""
        try:
            await self.send(closing_notice(record, self.roster))
        except Exception as error:  # deliveries never raise; this is a bug, logged without contacts
            structlog.get_logger().error(
                "closing notice not sent",
                incident_id=record.incident_id,
                reason=self.redact(f"{type(error).__name__}: {error}"),
            )

    def _review_urls(self, record: EscalationRecord) -> dict[str, str | None]:
        """Who may submit the pending review -> their signed link to it (None without links set
        up): its owner, or without one everyone the escalation paged (``escalation.reviews``)."""
        review = record.review
        if not (review and review.status is ReviewStatus.PENDING):
            return {}
        submitters = [review.owner] if review.owner else reviews.paged(record)
        links = self._links
        return {
            who: links.review_url(record.incident_id, record.triggered_at, who, review.due_at)
            if links
            else None
            for who in submitters
        }

    def _message(self, request: NoticeRequest, send: Send, review_urls: Mapping[str, str | None]) -> Message:
        record = request.record
        recipients = [
            Recipient(id=r, name=self.roster.responders[r].name, review_url=review_urls.get(r))
            for r in send.responders
        ]
        owner = next((r for r in recipients if r.id in review_urls), None)
        closer = self.roster.responders.get(record.resolved_by or "")
        key = send.key(request.idempotency_key)
        notice = Notice.build(
            kind=request.kind,
            record=record,
            recipients=recipients,
            closed_by=closer.name if closer else record.resolved_by or "-",
            web_ui_url=web_ui_url(self._ui_url, self._namespace, record.incident_id),
            idempotency_key=key,
            review_owner=owner,
        )
        return Message(send=send, key=key, page=notice)
