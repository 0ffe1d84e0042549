"""Who gets which message on a ladder step: responders' notification rules and tier overrides.

Pure decisions over the roster, so they are tested without any server. Chat and webhook
messages to the same endpoint are merged into one message naming every target, so a
team room sees one page per step rather than one per person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from escalation.channel_settings import ChannelSettings
from escalation.models import Channel, Roster, Severity
from escalation.state import Delivery


@dataclass(frozen=True)
class Send:
    """One message: a channel, where it goes (a responder id or an endpoint name), and for whom."""

    channel: Channel
    destination: str
    responders: tuple[str, ...]

    def key(self, step_key: str) -> str:
        """The message's idempotency key: the step's key plus channel and destination (never a contact)."""
        return f"{step_key}/{self.channel.value}/{self.destination}"


def plan(
    roster: Roster,
    channels: ChannelSettings,
    targets: list[str],
    severity: Severity,
    override: list[Channel] | None,
) -> tuple[list[Send], list[Delivery]]:
    """The messages to send for a step, and the deliveries that failed before sending anything."""
    return plan_each(
        roster, channels, targets, lambda responder: override or roster.channels_for(responder, severity)
    )


def plan_each(
    roster: Roster, channels: ChannelSettings, targets: list[str], chosen: Callable[[str], list[Channel]]
) -> tuple[list[Send], list[Delivery]]:
    """``plan`` with the channels ``chosen`` for each target on the roster (a notice follows a
    person's pages); chat and webhook messages to one endpoint are still merged."""
    sends: dict[tuple[Channel, str], list[str]] = {}
    refused: list[Delivery] = []
    for responder_id in dict.fromkeys(targets):
        person = roster.responders.get(responder_id)
        if person is None:
            refused.append(
                Delivery(
                    responder=responder_id,
                    channel=None,
                    delivered=False,
                    detail="not in the worker's roster; add them to roster.yaml",
                )
            )
            continue
        for channel in chosen(responder_id):
            if reason := channels.refusal(channel, person):
                refused.append(
                    Delivery(responder=responder_id, channel=channel, delivered=False, detail=reason)
                )
                continue
            destination = responder_id
            if channel is Channel.SLACK and person.contact.slack:
                destination = person.contact.slack.webhook
            elif channel is Channel.WEBHOOK and person.contact.webhook:
                destination = person.contact.webhook
            sends.setdefault((channel, destination), []).append(responder_id)
    return [Send(channel, dest, tuple(who)) for (channel, dest), who in sends.items()], refused
