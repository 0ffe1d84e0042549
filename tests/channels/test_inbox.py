"""``escalate inbox`` as a careful webhook receiver: replays, forged headers and junk bodies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from standardwebhooks.webhooks import Webhook

from tests.receivers import Receivers
from tests.support import DEMO_WEBHOOK_SECRET, OTHER_WEBHOOK_SECRET

PAGE = json.dumps({"schema": "escalation.page.v1", "idempotency_key": "incident:x/run/r0/t0/p1"}).encode()


def signed(body: bytes, msg_id: str, *, secret: str = DEMO_WEBHOOK_SECRET, age: int = 0) -> dict[str, str]:
    """Standard Webhooks headers for ``body``, signed ``age`` seconds ago."""
    timestamp = int(time.time()) - age
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


async def post(receivers: Receivers, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    url = f"http://127.0.0.1:{receivers.http_port}{path}"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()


async def post_raw(receivers: Receivers, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """``post`` written by hand, for header values aiohttp's client would not send: non-ASCII
    text, and bytes that are not UTF-8 (given as surrogate escapes)."""
    request = (
        "POST /webhook/ops-bridge HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("utf-8", "surrogateescape") + body
    reader, writer = await asyncio.open_connection("127.0.0.1", receivers.http_port)
    writer.write(request)
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, text = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), text.decode()


async def test_a_redelivered_page_is_kept_once_by_its_webhook_id(receivers: Receivers) -> None:
    """A retry is signed afresh (a new timestamp) with the same id."""
    first = await post(receivers, "/webhook/ops-bridge", PAGE, signed(PAGE, "incident:x%2Frun"))
    again = await post(receivers, "/webhook/ops-bridge", PAGE, signed(PAGE, "incident:x%2Frun", age=1))
    assert (first[0], json.loads(first[1])) == (200, {"duplicate": False})
    assert (again[0], json.loads(again[1])) == (200, {"duplicate": True})
    assert [page.key for page in receivers.inbox.pages] == ["incident:x/run"], "the id is percent-decoded"
    assert receivers.inbox.duplicates == 1


Change = Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]]
"""From a genuine request's headers and body to a forged, stale or malformed one."""
REFUSED = "webhook-signature does not match the body with this endpoint's secret"
MALFORMED = "webhook-signature is malformed: expected v1,<base64 HMAC-SHA256>, space-separated"
UNSIGNED = (
    "missing webhook-timestamp, webhook-signature; sign requests by the Standard Webhooks specification"
)
NOT_UTF8 = " is not UTF-8, so no signature can match it"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, b: (h, b.replace(b"r0", b"r1")), REFUSED),
        (lambda h, b: (h | {"webhook-id": "a-fresh-id"}, b), REFUSED),
        (lambda h, b: (signed(b, "k", secret=OTHER_WEBHOOK_SECRET), b), REFUSED),
        (lambda h, b: (signed(b, "k", age=600), b),
         "webhook-timestamp is more than five minutes old: a replayed request"),
        (lambda h, b: (signed(b, "k", age=-600), b),
         "webhook-timestamp is more than five minutes ahead: check the clocks"),
        (lambda h, b: (h | {"webhook-timestamp": "yesterday"}, b), "webhook-timestamp is not Unix seconds"),
        (lambda h, b: ({"webhook-id": "k"}, b), UNSIGNED),
        (lambda h, b: (h | {"webhook-signature": h["webhook-signature"].replace(",", "")}, b), MALFORMED),
        (lambda h, b: (h | {"webhook-signature": "v1,a,b"}, b), MALFORMED),
        (lambda h, b: (h | {"webhook-signature": "v1,abcde"}, b), MALFORMED),
        (lambda h, b: (h | {"webhook-signature": f"v1 {h['webhook-signature']}"}, b), MALFORMED),
        (lambda h, b: (h | {"webhook-signature": "v1,\u00e9t\u00e9"}, b), MALFORMED),
        (lambda h, b: (h | {"webhook-id": "k\udcff"}, b), "webhook-id" + NOT_UTF8),
        (lambda h, b: (h, b"\xff\xfe"), "body" + NOT_UTF8),
    ],
    ids=["tampered body", "replayed with a new id", "wrong secret", "signed ten minutes ago",
         "signed ten minutes ahead", "timestamp not a number", "unsigned", "signature without a comma",
         "two commas", "not base64", "a junk signature before the good one", "non-ASCII signature",
         "id not UTF-8", "body not UTF-8"],
)  # fmt: skip
async def test_forged_stale_and_malformed_requests_are_unauthorised(
    receivers: Receivers, change: Change, reason: str
) -> None:
    headers, body = change(signed(PAGE, "k"), PAGE)
    status, text = await post_raw(receivers, body, headers)
    assert (status, json.loads(text)) == (401, {"error": reason})
    assert receivers.inbox.pages == []


async def test_a_signed_body_that_is_not_a_page_is_a_client_error(receivers: Receivers) -> None:
    for body in (b"{not json", b"[1, 2]", b'{"schema": "escalation.page.v1"}', b'{"idempotency_key": 7}'):
        status, text = await post(receivers, "/webhook/ops-bridge", body, signed(body, "k"))
        assert (status, json.loads(text)) == (400, {"error": "body is not a page with an idempotency_key"})
    assert receivers.inbox.pages == []


async def test_a_slack_post_that_is_not_a_json_object_is_a_client_error(receivers: Receivers) -> None:
    for body in (b"{not json", b'"text"'):
        status, _ = await post(receivers, "/slack/team-room", body, {"Content-Type": "application/json"})
        assert status == 400
    assert receivers.inbox.pages == []
