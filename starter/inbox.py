"""``escalate inbox``: a local mail catcher and webhook receiver, to watch pages arrive.

It receives what the worker sends to the example ``channels.yaml`` (SMTP on 127.0.0.1:1025,
Slack and webhook posts on 127.0.0.1:8787) and prints each page once. Like a careful
receiver, it verifies every webhook by the Standard Webhooks specification (signature over
id, timestamp and body; a timestamp older than five minutes is a replay) and drops
redelivered copies by their ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from escalation.text import for_terminal

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_REFUSALS = {  # the library's reasons, reworded to name the header and the fix
    "Message timestamp too old": "webhook-timestamp is more than five minutes old: a replayed request",
    "Message timestamp too new": "webhook-timestamp is more than five minutes ahead: check the clocks",
    "Invalid Signature Headers": "webhook-timestamp is not Unix seconds",
    "No matching signature found": "webhook-signature does not match the body with this endpoint's secret",
}


@dataclass(frozen=True)
class Caught:
    """One page as received: which channel and endpoint, its idempotency key and its content."""

    channel: str
    endpoint: str
    key: str
    content: dict[str, Any]


def verify(signer: Webhook, headers: Mapping[str, str], body: bytes) -> str | None:
    """Why a webhook request must be refused, or None if it is signed with ``signer``'s secret
    and fresh. The library raises more than its own error on malformed input: all are refusals."""
    if missing := [name for name in SIGNATURE_HEADERS if not headers.get(name)]:
        return f"missing {', '.join(missing)}; sign requests by the Standard Webhooks specification"
    try:
        signer.verify(body, {name: headers[name] for name in SIGNATURE_HEADERS}, json_parse=False)
    except WebhookVerificationError as error:
        return _REFUSALS.get(str(error), f"webhook signature refused: {error}")
    except UnicodeDecodeError:
        return "body is not UTF-8, so no signature can match it"
    except UnicodeEncodeError:
        return "webhook-id is not UTF-8, so no signature can match it"
    except ValueError:  # a signature without its comma, or not base64
        return "webhook-signature is malformed: expected v1,<base64 HMAC-SHA256>, space-separated"
    return None


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None for anything else (a client error, not a crash)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


@dataclass
class Inbox:
    """Receives pages, keeps each idempotency key once, and hands new pages to ``on_page``."""

    secrets: Mapping[str, str]
    """Webhook endpoint name -> the ``whsec_`` secret its requests are signed with."""
    on_page: Callable[[Caught], None] = lambda caught: None
    pages: list[Caught] = field(default_factory=list)
    duplicates: int = 0

    def keep(self, caught: Caught) -> bool:
        """Record a page unless its key was seen; False for a redelivered copy."""
        if any(page.key == caught.key for page in self.pages):
            self.duplicates += 1
            return False
        self.pages.append(caught)
        self.on_page(caught)
        return True

    def http_app(self, middlewares: list[Any] | None = None) -> web.Application:
        app = web.Application(middlewares=middlewares or [])
        app.router.add_post("/webhook/{endpoint}", self._webhook)
        app.router.add_post("/slack/{endpoint}", self._slack)
        return app

    async def _webhook(self, request: web.Request) -> web.Response:
        endpoint = request.match_info["endpoint"]
        secret = self.secrets.get(endpoint)
        if secret is None:
            return web.json_response({"error": f"unknown webhook endpoint {endpoint!r}"}, status=404)
        body = await request.read()
        if refusal := verify(Webhook(secret), request.headers, body):
            return web.json_response({"error": refusal}, status=401)
        document = _json_object(body) or {}
        if not isinstance(document.get("idempotency_key"), str) or not document["idempotency_key"]:
            return web.json_response({"error": "body is not a page with an idempotency_key"}, status=400)
        # Deduplicate on the signed webhook-id (not the unsigned Idempotency-Key header).
        key = unquote(request.headers["webhook-id"])  # percent-encoded by the sender
        kept = self.keep(Caught("webhook", endpoint, key, document))
        return web.json_response({"duplicate": not kept})

    async def _slack(self, request: web.Request) -> web.Response:
        message = _json_object(await request.read())
        if message is None:
            return web.Response(status=400, text="invalid_payload")
        key = request.headers.get("Idempotency-Key", "")
        self.keep(Caught("slack", request.match_info["endpoint"], key, message))
        return web.Response(text="ok")

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        """aiosmtpd's hook: one call per accepted e-mail."""
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        text = mail.get_body(preferencelist=("plain",))
        html = mail.get_body(preferencelist=("html",))
        content = {
            "from": mail["From"],
            "to": mail["To"],
            "recipients": list(envelope.rcpt_tos),
            "subject": mail["Subject"],
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else "",
        }
        key = unquote(mail.get("X-Escalation-Idempotency-Key", "").strip())  # percent-encoded by the sender
        self.keep(Caught("email", "smtp", key, content))
        return "250 Message accepted for delivery"


def page_line(caught: Caught) -> str:
    """One line per page for the terminal, whatever control characters the page holds; an e-mail's
    action links, and the similar past incidents a webhook page carries, follow on indented lines."""
    links = _action_links(caught.content.get("text", "")) if caught.channel == "email" else []
    seen = _seen_before(caught.content) if caught.channel == "webhook" else []
    return "\n".join(for_terminal(line) for line in [_summary(caught), *links, *seen])


_ACTION_LINK = re.compile(r"^(Acknowledge|Resolve|Escalate|Review):[ \t]+(https?://\S+)\r?$", re.MULTILINE)


def _action_links(text: str) -> list[str]:
    """``  acknowledge: URL`` for each action link line of the shipped e-mail templates (a notice's
    review link too)."""
    return [f"  {action.lower()}: {url}" for action, url in _ACTION_LINK.findall(text)]


def _seen_before(document: dict[str, Any]) -> list[str]:
    """``  seen before: TITLE: ROOT CAUSE`` for each similar past incident on an escalation's first page."""
    return [
        f"  seen before: {past.get('title', '')}"
        + (f": {past['root_cause']}" if past.get("root_cause") else "")
        for past in document.get("similar", [])
        if isinstance(past, dict)
    ]


def _summary(caught: Caught) -> str:
    content = caught.content
    if caught.channel == "email":
        return f"email to {content['to']}: {content['subject']}"
    if caught.channel == "slack":
        return f"slack #{caught.endpoint}: {content.get('text', '')}"
    if content.get("type") == "notice":
        people = ", ".join(r["id"] for r in content["recipients"])
        return (
            f"webhook {caught.endpoint} (signature ok): {content['kind']} notice: {content['severity']} "
            f"{content['incident']['title']} {content['outcome']} by {content['closed_by']} -> {people}"
        )
    targets = ", ".join(t["id"] for t in content["targets"])
    return (
        f"webhook {caught.endpoint} (signature ok): {content['severity']} {content['incident']['title']} "
        f"-> tier {content['tier']['name']}: {targets}"
    )


async def run_inbox(inbox: Inbox, smtp_port: int, http_port: int, host: str = "127.0.0.1") -> None:
    """Run until cancelled."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd narrates every connection
    smtp = Controller(inbox, hostname=host, port=smtp_port)
    smtp.start()
    runner = web.AppRunner(inbox.http_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, http_port).start()
    print(
        f"inbox: SMTP on {host}:{smtp_port}, webhooks on http://{host}:{http_port}/webhook/NAME "
        f"and /slack/NAME; Ctrl-C stops it",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        smtp.stop()
