"""What every route of the HTTP front door shares: its configuration, keys, rate limits, the
connection to Temporal, bounded body reading, and the error a route raises to answer a 4xx."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from temporalio.service import RPCError

from activities.store import RecordStore
from escalation.channel_settings import ChannelSettings
from escalation.config import CHANNELS_FILE, Config, ConfigError, load_channels
from escalation.settings import SECRET_ENV, Settings
from starter.api import Escalations
from starter.connection import TemporalConnectionError
from starter.web.limits import Bucket
from starter.web.metrics import attribute

MAX_BODY_BYTES = 512 * 1024
MAX_FORM_FIELDS = 100
CONNECT_WAIT_SECONDS = 3
"""How long a request waits for a connection being made before it is answered 503."""
EscalationsFactory = Callable[[], Awaitable[Escalations]]


class HTTPProblem(Exception):
    """A response with a JSON body; raised anywhere in a route."""

    def __init__(self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, dict(headers or {})


def detail(status: int, sentence: str, **headers: str) -> HTTPProblem:
    return HTTPProblem(status, {"detail": sentence}, headers)


def unauthorized(sentence: str) -> HTTPProblem:
    return detail(401, sentence, **{"WWW-Authenticate": "Bearer"})


def _connected(connecting: asyncio.Future[Escalations]) -> bool:
    """Whether a finished attempt connected; a failure is logged by nobody else, so it is read here."""
    if connecting.cancelled():
        return False
    error = connecting.exception()
    if error is not None and not isinstance(error, (TemporalConnectionError, RPCError, OSError)):
        raise error
    return error is None


class Door:
    """What the routes share: the configuration, the keys, the rate limits and the connection."""

    def __init__(
        self,
        config: Config,
        env: Mapping[str, str],
        factory: EscalationsFactory,
        settings: Settings | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or Settings()
        self.env = env
        self.secret = env.get(SECRET_ENV, "")
        try:
            self._channels: ChannelSettings | ConfigError = load_channels(config.directory)
        except ConfigError as error:
            self._channels = error
        self._keys = [(env.get(i.key_env, ""), name) for name, i in config.integrations.integrations.items()]
        self._buckets = {
            name: Bucket(i.rate_limit_per_minute) for name, i in config.integrations.integrations.items()
        }
        self._factory = factory
        self._connecting: asyncio.Future[Escalations] | None = None

    def start_connecting(self) -> asyncio.Future[Escalations]:
        """Connect in the background (again, if the last attempt failed)."""
        if self._connecting is None or (self._connecting.done() and not _connected(self._connecting)):
            self._connecting = asyncio.ensure_future(self._factory())
        return self._connecting

    async def escalations(self) -> Escalations:
        """The connection, or 503 while Temporal is out of reach: no request waits out an outage."""
        connecting = self.start_connecting()
        done, _ = await asyncio.wait({connecting}, timeout=CONNECT_WAIT_SECONDS)
        if not done or not _connected(connecting):
            raise detail(503, "Temporal is not reachable; try again shortly")
        return connecting.result()

    @cached_property
    def store(self) -> RecordStore:
        """The record store the workers write, made on first use (only some routes read it)."""
        return RecordStore.from_settings(self.settings)

    @property
    def channels(self) -> ChannelSettings:
        """``channels.yaml``, for the routes answering Slack and Twilio; 503 while it has problems
        (ingest and the responder API work regardless)."""
        if isinstance(self._channels, ConfigError):
            raise detail(
                503, f"{CHANNELS_FILE} has problems ({len(self._channels.problems)}); run 'escalate check'"
            )
        return self._channels

    def integration_for(self, key: str) -> str | None:
        """The integration whose key this is; every key is compared, in constant time."""
        found = None
        for known, name in self._keys:
            if known and hmac.compare_digest(known.encode(), key.encode()):
                found = name
        return found

    def admit(self, request: Request, name: str) -> None:
        """Let an ingest request of integration ``name`` (its key checked) in, within its rate limit;
        its metrics count it under ``name`` from here on."""
        attribute(request, name)
        if wait := self._buckets[name].take():
            raise HTTPProblem(
                429,
                {"detail": f"integration {name} is over its rate limit; retry after {wait} s"},
                {"Retry-After": str(wait)},
            )


async def body_bytes(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, read no further than ``limit`` bytes (413 beyond)."""
    too_large = detail(413, f"the body is larger than {limit // 1024} KB; send a smaller one")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise too_large
    return bytes(data)


async def form_body(request: Request, limit: int) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (browsers, Slack, Twilio), the last of each name."""
    return parse_form(await body_bytes(request, limit))


def parse_form(body: bytes) -> dict[str, str]:
    """A form body already read (to check its signature first), the last value of each name."""
    text = body.decode("utf-8", errors="replace")
    try:
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
    except ValueError:
        raise detail(400, f"(body): more than {MAX_FORM_FIELDS} form fields; send only the form's") from None


async def json_body(request: Request) -> object:
    """The body as JSON, read no further than the limit."""
    try:
        return json.loads(await body_bytes(request))
    except (ValueError, RecursionError):
        raise detail(400, "(body): is not JSON; send a JSON object") from None


def door_of(request: Request) -> Door:
    return request.app.state.door


DoorDep = Annotated[Door, Depends(door_of)]
