"""``channels.yaml``: how the worker reaches the outside world (SMTP, Twilio, Slack, webhooks).

The worker and ``escalate check``/``up``/``inbox`` read it; opening an incident does not.
Secrets are never written in it: each is named by the environment variable that holds it,
and a worker whose environment lacks one refuses to start.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import AnyHttpUrl, Field, NameEmail, StringConstraints, field_validator, model_validator

from escalation.durations import Duration
from escalation.models import CONTACT_FOR, Channel, Identifier, PhoneNumber, Responder, Strict

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME_PATTERN)]
"""The name of an environment variable holding a secret, e.g. ``ESCALATION_SMTP_PASSWORD``."""


LOOPBACK_HOSTS = "localhost, 127.0.0.0/8 or ::1"
"""The only hosts a credential may travel to unencrypted: it never leaves the machine."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name, an IP address, or a bracketed IPv6 address) is this machine."""
    bare = host.strip("[]").rstrip(".").lower()
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


USERNAME_PATH = "email.username_env"
"""The one secret not scrubbed from failure reasons: a username is often an ordinary word."""


class Security(StrEnum):
    """How the SMTP connection is protected: upgrade with STARTTLS, TLS from the start, or none."""

    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


class EmailSettings(Strict):
    host: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    port: int = Field(default=587, ge=1, le=65535)
    security: Security = Security.STARTTLS
    sender: NameEmail
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    ca_file: Path | None = None
    """Trust this CA bundle instead of the system's, for a relay with a private certificate."""
    timeout: Duration = Field(default="10s", validate_default=True)
    """Per attempt; the page's overall bound still applies."""

    @model_validator(mode="after")
    def _credentials_come_in_pairs(self) -> EmailSettings:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("username_env and password_env go together; set both or neither")
        return self

    @model_validator(mode="after")
    def _credentials_are_encrypted(self) -> EmailSettings:
        if self.security is Security.NONE and self.password_env and not is_loopback(self.host):
            raise ValueError(
                f"security: none would send the SMTP password in clear to {self.host}; use security: "
                f"starttls or ssl (none with credentials is allowed only to {LOOPBACK_HOSTS})"
            )
        return self


class TwilioSettings(Strict):
    """SMS and voice calls through Twilio's REST API (or anything speaking its shape)."""

    base_url: AnyHttpUrl = AnyHttpUrl("https://api.twilio.com")
    account_sid_env: EnvName = "TWILIO_ACCOUNT_SID"
    auth_token_env: EnvName = "TWILIO_AUTH_TOKEN"
    from_number: PhoneNumber

    @field_validator("base_url")
    @classmethod
    def _auth_is_encrypted(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if url.scheme == "http" and not is_loopback(url.host or ""):
            raise ValueError(
                f"http:// would send the Twilio auth token in clear to {url.host}; use https:// "
                f"(http is allowed only to {LOOPBACK_HOSTS})"
            )
        return url


class SlackEndpoint(Strict):
    """A Slack-compatible incoming webhook. Its URL is a secret: prefer ``url_env``."""

    url: AnyHttpUrl | None = None
    url_env: EnvName | None = None

    @model_validator(mode="after")
    def _one_url(self) -> SlackEndpoint:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env")
        return self

    def resolved_url(self, env: Mapping[str, str]) -> str:
        return str(self.url) if self.url else env.get(str(self.url_env), "")


WEBHOOK_SECRET_PREFIX = "whsec_"
WEBHOOK_SECRET_BYTES = range(24, 65)
"""A Standard Webhooks signing secret: ``whsec_`` and base64 of 24 to 64 random bytes."""
NEW_WEBHOOK_SECRET_COMMAND = (
    "python3 -c 'import base64, secrets; "
    'print("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())\''
)


def is_webhook_secret(value: str) -> bool:
    """Whether ``value`` is a Standard Webhooks secret. Strictly: the library itself skips
    characters outside base64 (so a URL-safe secret would sign with a different key)."""
    if not value.startswith(WEBHOOK_SECRET_PREFIX):
        return False
    encoded = value.removeprefix(WEBHOOK_SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError:  # binascii.Error, or a character outside ASCII
        return False
    return len(key) in WEBHOOK_SECRET_BYTES


class WebhookEndpoint(SlackEndpoint):
    """A generic JSON webhook; every request is signed (Standard Webhooks) with the secret in
    ``secret_env``."""

    secret_env: EnvName


class SlackAppSettings(Strict):
    """The Slack app whose page buttons the API answers (``POST /v1/slack/actions``)."""

    signing_secret_env: EnvName = "SLACK_SIGNING_SECRET"
    """Holds the app's signing secret: every interaction request is checked against it."""


class ChannelSettings(Strict):
    email: EmailSettings | None = None
    twilio: TwilioSettings | None = None
    slack: dict[Identifier, SlackEndpoint] = Field(default_factory=dict)
    webhooks: dict[Identifier, WebhookEndpoint] = Field(default_factory=dict)
    slack_app: SlackAppSettings | None = None
    templates: Path = Path("templates")
    """Page templates, relative to the configuration directory."""

    def refusal(self, channel: Channel, responder: Responder) -> str | None:
        """Why the worker could not page ``responder`` on ``channel``, or None if it can."""
        contact = responder.contact
        if not contact.has(channel):
            return f"{channel.value} needs contact.{CONTACT_FOR[channel]}; add it to the responder"
        if channel is Channel.EMAIL and self.email is None:
            return "email is not set up; add an email: section to channels.yaml"
        if channel in (Channel.SMS, Channel.VOICE) and self.twilio is None:
            return f"{channel.value} is not set up; add a twilio: section to channels.yaml"
        if channel is Channel.SLACK and contact.slack and contact.slack.webhook not in self.slack:
            return f"slack webhook {contact.slack.webhook!r} is not under slack: in channels.yaml; add it"
        if channel is Channel.WEBHOOK and contact.webhook not in self.webhooks:
            return f"webhook {contact.webhook!r} is not under webhooks: in channels.yaml; add it"
        return None

    def secret_names(self) -> list[tuple[str, str]]:
        """(field path, environment variable) for every secret the worker's channels need (the Slack
        app's signing secret is the API's: its route answers 503 while the variable is unset)."""
        names: list[tuple[str, str | None]] = []
        if self.email:
            names += [(USERNAME_PATH, self.email.username_env)]
            names += [("email.password_env", self.email.password_env)]
        if self.twilio:
            names += [("twilio.account_sid_env", self.twilio.account_sid_env)]
            names += [("twilio.auth_token_env", self.twilio.auth_token_env)]
        for name, endpoint in self.slack.items():
            names += [(f"slack.{name}.url_env", endpoint.url_env)]
        for name, endpoint in self.webhooks.items():
            names += [(f"webhooks.{name}.url_env", endpoint.url_env)]
            names += [(f"webhooks.{name}.secret_env", endpoint.secret_env)]
        return [(path, env) for path, env in names if env]

    def secret_problems(self, env: Mapping[str, str], source: str) -> list[str]:
        """One problem line per secret whose environment variable is unset or empty, or holds a
        webhook secret the signing library cannot use; never the value."""
        problems = [
            f"{source}: {path}: environment variable {name} is not set; export it where the worker runs"
            for path, name in self.secret_names()
            if not env.get(name)
        ]
        for endpoint_name, endpoint in self.webhooks.items():
            name = endpoint.secret_env
            if env.get(name) and not is_webhook_secret(env[name]):
                problems.append(
                    f"{source}: webhooks.{endpoint_name}.secret_env: environment variable {name} must hold "
                    f"a Standard Webhooks secret: {WEBHOOK_SECRET_PREFIX} followed by base64 of "
                    f"{WEBHOOK_SECRET_BYTES.start} to {WEBHOOK_SECRET_BYTES.stop - 1} random bytes; "
                    f"generate one with: {NEW_WEBHOOK_SECRET_COMMAND}"
                )
        return problems
