"""Generic webhooks: a stable JSON document per step and endpoint, signed with HMAC-SHA256.

Headers (see docs/channels.md):
  ``Idempotency-Key``          the message's key, percent-encoded; the same on every retry of this page
  ``X-Escalation-Timestamp``   Unix seconds when this attempt was signed
  ``X-Escalation-Signature``   ``sha256=`` + hex HMAC-SHA256(secret, timestamp + "." + body)
Signing the timestamp with the body lets a receiver reject old requests replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from activities.channels.base import Message, post
from escalation.models import Roster
from escalation.text import header_value

SCHEMA = "escalation.page.v1"


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Escalation-Signature`` value; ``escalate inbox`` checks requests with the same function."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def document(message: Message, roster: Roster) -> dict[str, object]:
    """The body: everything about the page a receiving tool needs, and no contact details."""
    page = message.page
    return {
        "schema": SCHEMA,
        "idempotency_key": message.key,
        "incident_id": page.incident_id,
        "incident": page.incident.model_dump(mode="json"),
        "severity": page.severity.value,
        "tier": {"name": page.tier, "phase": page.phase, "round": page.round},
        "targets": [
            {
                "id": recipient.id,
                "name": recipient.name,
                "actions": recipient.links.model_dump() if recipient.links else None,
            }
            for recipient in page.recipients
        ],
        "acknowledge_by": page.deadline.isoformat(),
        "links": {"web_ui": page.web_ui_url, "incident": page.incident.links},
        "commands": {"acknowledge": page.acknowledge_command, "resolve": page.resolve_command},
    }


class WebhookSender:
    def __init__(self, endpoints: dict[str, Endpoint], roster: Roster) -> None:
        self._endpoints = endpoints
        self._roster = roster

    async def send(self, message: Message) -> None:
        endpoint = self._endpoints[message.send.destination]
        body = json.dumps(document(message, self._roster), separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": header_value(message.key),
            "X-Escalation-Timestamp": timestamp,
            "X-Escalation-Signature": sign(endpoint.secret, timestamp, body),
        }
        await post(endpoint.url, headers=headers, data=body)
