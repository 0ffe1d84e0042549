"""Pages written to the worker's log: for development and as a last-resort record."""

from __future__ import annotations

import structlog

from activities.channels.base import Message


class ConsoleSender:
    async def send(self, message: Message) -> None:
        page = message.page
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
