"""Pages and notices written to the worker's log: for development and as a last-resort record."""

from __future__ import annotations

import structlog

from activities.channels.base import Message
from activities.pages import Notice


class ConsoleSender:
    async def send(self, message: Message) -> None:
        page = message.page
        if isinstance(page, Notice):
            structlog.get_logger().info(
                "notice",
                kind=page.kind.value,
                responder=message.send.destination,
                name=page.recipients[0].name,
                incident=page.headline,
                outcome=page.outcome.value,
                closed_by=page.closed_by,
                review_due=page.review_due.isoformat() if page.review_due else None,
                web_ui=page.web_ui_url,
                idempotency_key=message.key,
            )
            return
        structlog.get_logger().warning(
            "page",
            responder=message.send.destination,
            name=page.recipients[0].name,
            incident=page.headline,
            tier=page.tier,
            acknowledge_by=page.deadline.isoformat(),
            acknowledge=page.acknowledge_command,
            web_ui=page.web_ui_url,
            idempotency_key=message.key,
        )
