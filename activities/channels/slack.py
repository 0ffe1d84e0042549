"""Slack-compatible incoming webhooks: a Block Kit message per step and room, mentioning each target."""

from __future__ import annotations

from activities.channels.base import Message, post
from activities.pages import PageTemplates
from escalation.models import Roster
from escalation.text import header_value, mrkdwn


class SlackSender:
    def __init__(self, urls: dict[str, str], roster: Roster, templates: PageTemplates) -> None:
        self._urls = urls
        self._roster = roster
        self._templates = templates

    def mentions(self, message: Message) -> str:
        """``<@MEMBER>`` for targets with a Slack member id (Slack notifies them), else escaped names."""
        people = [self._roster.responders[responder] for responder in message.send.responders]
        return ", ".join(
            f"<@{person.slack_member}>" if person.slack_member else mrkdwn(person.name) for person in people
        )

    async def send(self, message: Message) -> None:
        body = self._templates.slack_message(message.page, mentions=self.mentions(message))
        await post(
            self._urls[message.send.destination],
            headers={"Idempotency-Key": header_value(message.key)},
            json=body,
        )
