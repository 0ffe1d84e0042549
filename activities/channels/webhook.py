"""Generic webhooks: a stable JSON document per step (or notice) and endpoint, signed by the Standard
Webhooks specification (https://www.standardwebhooks.com) with the endpoint's ``whsec_`` secret.
Its ``type`` tells a page (``page``) from a notice about a finished escalation (``notice``).

Headers (see docs/channels.md):
  ``webhook-id``         the message's key, percent-encoded with ``.`` too (the spec forbids a
                         ``.`` in it: the signed content is ``id.timestamp.body``); the same on
                         every retry of this page, so receivers deduplicate on it
  ``webhook-timestamp``  Unix seconds when this attempt was signed, so an old request replayed
                         later is refused
  ``webhook-signature``  ``v1,`` + base64 HMAC-SHA256 over id, timestamp and body
  ``Idempotency-Key``    the message's key, percent-encoded, as on the other HTTP channels
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from activities.channels.base import Message, post
from activities.pages import Notice
from escalation.text import header_value

SCHEMA = "escalation.page.v1"
NOTICE_SCHEMA = "escalation.notice.v1"


@dataclass(frozen=True)
class Endpoint:
    url: str
    signer: Webhook
    """Built from a secret checked at start (``ChannelSettings.secret_problems``)."""


def webhook_id(key: str) -> str:
    """The ``webhook-id`` for a message key: ``urllib.parse.unquote`` gives the key back."""
    return header_value(key).replace(".", "%2E")


def document(message: Message) -> dict[str, object]:
    """The body: everything about the page a receiving tool needs, and no contact details."""
    page = message.page
    if isinstance(page, Notice):
        return notice_document(page, message.key)
    return {
        "schema": SCHEMA,
        "type": "page",
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
        "similar": [past.model_dump(mode="json") for past in page.similar],
    }


def notice_document(notice: Notice, key: str) -> dict[str, object]:
    """A notice's body: how the escalation ended and, for the review's owner, the review."""
    review = (
        {"owner": notice.review_owner, "due_at": notice.review_due.isoformat(), "url": notice.review_url}
        if notice.review_due
        else None
    )
    return {
        "schema": NOTICE_SCHEMA,
        "type": "notice",
        "kind": notice.kind.value,
        "idempotency_key": key,
        "incident_id": notice.incident_id,
        "incident": notice.incident.model_dump(mode="json"),
        "severity": notice.severity.value,
        "outcome": notice.outcome.value,
        "closed_by": notice.closed_by,
        "closed_at": notice.closed_at.isoformat() if notice.closed_at else None,
        "resolution": {"summary": notice.summary, "root_cause": notice.root_cause},
        "recipients": [{"id": recipient.id, "name": recipient.name} for recipient in notice.recipients],
        "review": review,
        "links": {"web_ui": notice.web_ui_url, "incident": notice.incident.links},
    }


class WebhookSender:
    def __init__(self, endpoints: dict[str, Endpoint]) -> None:
        self._endpoints = endpoints

    async def send(self, message: Message) -> None:
        endpoint = self._endpoints[message.send.destination]
        body = json.dumps(document(message), separators=(",", ":"))  # ASCII: signed as sent
        msg_id = webhook_id(message.key)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": header_value(message.key),
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": endpoint.signer.sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body),
        }
        await post(endpoint.url, headers=headers, data=body.encode())
