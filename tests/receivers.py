"""Real local servers on loopback for channel tests, with faults the tests switch on.

- SMTP: aiosmtpd with the inbox's handler (optionally STARTTLS + AUTH, or implicit TLS).
- Webhooks and Slack: the inbox's HTTP app behind a middleware that counts requests and
  can answer 500 after processing, answer slowly, refuse the request, answer 404 quoting the
  path, or redirect in a loop.
- SMTP that refuses every recipient, quoting the address.
- Twilio: an HTTP server speaking the shape of Twilio's Messages and Calls API.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from aiohttp import web
from aiosmtpd.controller import Controller

from starter.inbox import Inbox
from tests.ports import free_port
from tests.support import DEMO_WEBHOOK_SECRET, example_config

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-test-token"
TWILIO_ENV = {"TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
SLACK_TOKEN = "XyZ0sEcReT0tOkEn0123456"
SECRET_SLACK_PATH = f"/hooks/T0001/B0001/{SLACK_TOKEN}"


@dataclass
class Faults:
    """What the HTTP receivers do wrong, per request, until the counts run out."""

    process_then_fail: int = 0
    """Store the page, then answer 500 anyway: the sender must retry, the receiver must dedup."""
    delay_seconds: float = 0
    echo_not_found: bool = False
    """Answer 404 ``Cannot POST <path>`` as Express does: a body quoting the (secret) URL path."""
    redirect_loop: bool = False
    """Redirect every request to itself, until the client gives up."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(path, Idempotency-Key) of every request, including failed ones."""
    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    """(headers, body) of every request as received, to verify independently of the inbox."""

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests.append((request.path, request.headers.get("Idempotency-Key", "")))
        self.raw.append((dict(request.headers), await request.read()))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.echo_not_found:
            return web.Response(status=404, text=f"Cannot POST {request.path}")
        if self.redirect_loop:
            return web.Response(status=307, headers={"Location": str(request.rel_url)})
        response = await handler(request)
        if self.process_then_fail > 0:
            self.process_then_fail -= 1
            return web.Response(status=500, text="upstream hiccup")
        return response


@dataclass
class TwilioFake:
    """Accepts what Twilio accepts (HTTP Basic auth, form fields, E.164 numbers) and records it."""

    messages: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)

    def app(self, faults: Faults) -> web.Application:
        app = web.Application(middlewares=[faults.middleware])
        app.router.add_post("/2010-04-01/Accounts/{sid}/{resource}", self._create)
        return app

    async def _create(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if auth != expected or request.match_info["sid"] != TWILIO_SID:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        form = dict(await request.post())
        to = str(form.get("To", ""))
        if not to.startswith("+1555"):
            return web.json_response(
                {
                    "code": 21211,
                    "message": f"The 'To' number {to} is not a valid phone number.",
                    "status": 400,
                },
                status=400,
            )
        resource = request.match_info["resource"]
        if resource == "Messages.json":
            self.messages.append({k: str(v) for k, v in form.items()})
            return web.json_response({"sid": f"SM{len(self.messages):032d}", "status": "queued"}, status=201)
        self.calls.append({k: str(v) for k, v in form.items()})
        return web.json_response({"sid": f"CA{len(self.calls):032d}", "status": "queued"}, status=201)


@dataclass
class Receivers:
    """Every receiver, running; ``config_dir`` writes a configuration that pages them."""

    inbox: Inbox
    faults: Faults
    twilio: TwilioFake
    smtp_port: int
    http_port: int
    twilio_port: int

    def channels_yaml(self, *, email: dict[str, Any] | None = None, dead: bool = False) -> str:
        """A channels.yaml pointing at these receivers, or (``dead``) at ports nobody listens on."""
        closed = free_port()
        smtp = closed if dead else self.smtp_port
        http = closed if dead else self.http_port
        twilio = closed if dead else self.twilio_port
        mail = {"host": "127.0.0.1", "port": smtp, "security": "none",
                "sender": "Escalations <escalations@example.com>", **(email or {})}  # fmt: skip
        return (
            "email:\n"
            + "".join(f"  {key}: {value}\n" for key, value in mail.items())
            + f"twilio:\n  base_url: http://127.0.0.1:{twilio}\n  from_number: '+15550009999'\n"
            f"slack:\n  team-room:\n    url: http://127.0.0.1:{http}/slack/team-room\n"
            f"webhooks:\n  ops-bridge:\n    url: http://127.0.0.1:{http}/webhook/ops-bridge\n"
            f"    secret_env: ESCALATION_OPS_BRIDGE_SECRET\n"
        )

    def slack_url_from_env(self, config_dir: Path) -> dict[str, str]:
        """Point team-room at a secret URL in the environment (spelt as pasted); returns that env."""
        channels = config_dir / "channels.yaml"
        plain = f"url: http://127.0.0.1:{self.http_port}/slack/team-room"
        channels.write_text(channels.read_text().replace(plain, "url_env: SLACK_TEAM_ROOM_URL"))
        return {"SLACK_TEAM_ROOM_URL": f"http://LOCALHOST:{self.http_port}{SECRET_SLACK_PATH}"}

    def config_dir(self, tmp: Path, *, policy: str | None = None, dead: bool = False,
                   email: dict[str, Any] | None = None) -> Path:  # fmt: skip
        """The example configuration paging these receivers, plus ``policy`` as channels-test.yaml."""
        directory = tmp / f"config-{free_port()}"
        example_config(directory)
        (directory / "channels.yaml").write_text(self.channels_yaml(dead=dead, email=email))
        if policy:
            (directory / "policies" / "channels-test.yaml").write_text(policy)
        return directory


class RecipientRefusingRelay:
    """An SMTP relay that refuses every recipient, quoting the address back upper-cased."""

    async def handle_RCPT(self, server: object, session: object, envelope: object, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        return f"550 5.1.1 <{address.upper()}>: Recipient address rejected: User unknown"


def loopback_socket() -> socket.socket:
    """A listening-ready socket on a port the OS picked, so no other process can take it first."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def start_smtp(handler: object, **options: Any) -> tuple[Controller, int]:
    """aiosmtpd needs a port number, not a socket: retry if another process takes the port first."""
    for _ in range(5):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        try:
            controller.start()
        except (OSError, RuntimeError):
            continue
        return controller, port
    raise RuntimeError("no free port for the SMTP server")


async def start_receivers() -> tuple[Receivers, Callable[[], Awaitable[None]]]:
    """Start every receiver on loopback; returns them and a function that stops them."""
    faults = Faults()
    inbox = Inbox({"ops-bridge": DEMO_WEBHOOK_SECRET})
    twilio = TwilioFake()
    smtp, smtp_port = start_smtp(inbox)
    runners, ports = [], []
    for app in (inbox.http_app([faults.middleware]), twilio.app(faults)):
        runner = web.AppRunner(app, shutdown_timeout=1)  # a deliberately slow handler must not hold teardown
        await runner.setup()
        sock = loopback_socket()
        await web.SockSite(runner, sock).start()
        runners.append(runner)
        ports.append(sock.getsockname()[1])

    async def stop() -> None:
        for runner in runners:
            await runner.cleanup()
        smtp.stop()

    return Receivers(inbox, faults, twilio, smtp_port, ports[0], ports[1]), stop


def tls_contexts(tmp: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 from a throwaway CA, and that CA's file for the client."""
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server)
    ca_file = tmp / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return server, ca_file
