"""The interface every channel implements, and the HTTP conventions the web-based ones share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

import aiohttp

from activities.contact_routing import Send
from activities.pages import Notice, Page

ATTEMPT_TIMEOUT_SECONDS = 10
"""One HTTP request or SMTP session; the notifier's overall bound may cut it shorter."""

_RETRYABLE_STATUS = frozenset({408, 425, 429})


class DeliveryError(Exception):
    """A message was not delivered. ``retry`` says whether trying again could help."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


@dataclass(frozen=True)
class Message:
    """What a sender sends: the page's (or notice's) content, for whom, and the message's
    idempotency key."""

    send: Send
    key: str
    page: Page | Notice


class Sender(Protocol):
    async def send(self, message: Message) -> None:
        """Deliver ``message`` or raise DeliveryError; the notifier retries and bounds the time."""


async def post(url: str, *, headers: Mapping[str, str], json: Any = None, data: Any = None) -> str:
    """POST and return the response body; a refusal raises DeliveryError saying if a retry may help.

    Server errors, throttling and timeouts are worth retrying; any other 4xx is a request the
    receiver will refuse again (bad credentials, unknown number), so it fails at once. Reasons
    name the status and the kind of error only: a receiver's body or an aiohttp error may quote
    the URL, and a Slack webhook URL is a secret.
    """
    timeout = aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(url, headers=headers, json=json, data=data) as response,
        ):
            if response.status < 300:
                return await response.text(errors="replace")
            retry = response.status >= 500 or response.status in _RETRYABLE_STATUS
            raise DeliveryError(_http_status(response.status), retry=retry)
    except TimeoutError as error:
        raise DeliveryError(f"no answer within {ATTEMPT_TIMEOUT_SECONDS}s", retry=True) from error
    except aiohttp.TooManyRedirects as error:
        raise DeliveryError(
            f"redirect loop (stopped after {len(error.history)} redirects); check the URL",
            retry=False,
        ) from error
    except aiohttp.ClientConnectorError as error:
        where = f"{error.host}:{error.port}"
        if isinstance(error, aiohttp.ClientSSLError):
            raise DeliveryError(
                f"TLS with {where} failed ({_cause(error)}); check its certificate", retry=False
            ) from error
        raise DeliveryError(f"could not connect to {where} ({_cause(error)})", retry=True) from error
    except aiohttp.ClientError as error:
        raise DeliveryError(f"could not reach the receiver ({type(error).__name__})", retry=True) from error


def _http_status(status: int) -> str:
    """``HTTP 404 Not Found``: the standard phrase, since a server's own may quote the request."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _cause(error: aiohttp.ClientConnectorError) -> str:
    """The OS or TLS error behind a failed connection: it names the host at most, never a path."""
    return error.os_error.strerror or str(error.os_error)
