"""``escalate inbox`` as a careful webhook receiver: replays, forged headers and junk bodies."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from activities.channels.webhook import sign
from tests.receivers import Receivers
from tests.support import DEMO_WEBHOOK_SECRET


def signed(body: bytes, key: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "X-Escalation-Timestamp": timestamp,
        "X-Escalation-Signature": sign(DEMO_WEBHOOK_SECRET, timestamp, body),
    }


async def post(receivers: Receivers, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    url = f"http://127.0.0.1:{receivers.http_port}{path}"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()


async def test_a_replayed_page_with_a_new_idempotency_header_is_a_duplicate(receivers: Receivers) -> None:
    body = json.dumps({"schema": "escalation.page.v1", "idempotency_key": "incident:x/run/r0/t0/p1"}).encode()
    first = await post(receivers, "/webhook/ops-bridge", body, signed(body, "incident:x/run/r0/t0/p1"))
    replay = await post(receivers, "/webhook/ops-bridge", body, signed(body, "a-fresh-header-key"))
    assert (first[0], json.loads(first[1])) == (200, {"duplicate": False})
    assert (replay[0], json.loads(replay[1])) == (200, {"duplicate": True})
    assert len(receivers.inbox.pages) == 1 and receivers.inbox.duplicates == 1


async def test_a_non_ascii_signature_is_refused_as_unauthorised(receivers: Receivers) -> None:
    """aiohttp's client will not send such a header, so the request is written by hand."""
    body = b'{"idempotency_key": "k"}'
    headers = signed(body, "k") | {"X-Escalation-Signature": "sha256=\u00e9t\u00e9"}
    request = (
        "POST /webhook/ops-bridge HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    reader, writer = await asyncio.open_connection("127.0.0.1", receivers.http_port)
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"401"
    assert receivers.inbox.pages == []


async def test_a_signed_body_that_is_not_a_page_is_a_client_error(receivers: Receivers) -> None:
    for body in (b"{not json", b"[1, 2]", b'{"schema": "escalation.page.v1"}', b"\xff\xfe"):
        status, text = await post(receivers, "/webhook/ops-bridge", body, signed(body, "k"))
        assert (status, json.loads(text)) == (400, {"error": "body is not a page with an idempotency_key"})
    assert receivers.inbox.pages == []


async def test_a_slack_post_that_is_not_a_json_object_is_a_client_error(receivers: Receivers) -> None:
    for body in (b"{not json", b'"text"'):
        status, _ = await post(receivers, "/slack/team-room", body, {"Content-Type": "application/json"})
        assert status == 400
    assert receivers.inbox.pages == []
