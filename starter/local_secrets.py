"""Secrets for the embedded default, generated once so that ``escalate up`` works as shipped.

The shipped configuration names a webhook signing secret and an integration key, and the API
needs a token secret; on a laptop nobody should have to invent them before trying the product.
They are generated into an owner-only ``secrets.env`` in the data directory, reused by later
runs, and a value exported in the environment always wins. Anywhere else (``TEMPORAL_ADDRESS``
set) missing secrets stay an error: a deployment decides its own.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping, MutableMapping
from enum import Enum
from pathlib import Path

from escalation.channel_settings import WEBHOOK_SECRET_PREFIX, is_webhook_secret
from escalation.config import Config
from escalation.settings import OWNER_ONLY_DIR, OWNER_ONLY_FILE, SECRET_ENV

SECRETS_FILE = "secrets.env"
SECRET_BYTES = 32


class Kind(Enum):
    """What a generated secret looks like."""

    TOKEN = "token"
    """Random URL-safe text."""
    WEBHOOK = "webhook"
    """A Standard Webhooks signing secret (``whsec_`` + base64); a saved value in an older form
    is replaced, so a data directory from before keeps working."""

    def generate(self) -> str:
        if self is Kind.WEBHOOK:
            return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
        return secrets.token_urlsafe(SECRET_BYTES)

    def accepts(self, value: str) -> bool:
        return bool(value) and (self is Kind.TOKEN or is_webhook_secret(value))


def generated_names(config: Config) -> dict[str, Kind]:
    """The variables that can be made up locally: webhook signing secrets, integration keys and
    the API's token secret (never credentials of outside services, such as an SMTP password)."""
    keys = {i.key_env: Kind.TOKEN for i in config.integrations.integrations.values()}
    return {**keys, SECRET_ENV: Kind.TOKEN, **webhook_secret_names(config)}  # a variable named twice: whsec_


def webhook_secret_names(config: Config) -> dict[str, Kind]:
    """The generated secrets a worker or ``escalate inbox`` needs: the webhook signing secrets."""
    return {w.secret_env: Kind.WEBHOOK for w in config.channels.webhooks.values()}


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    lines = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, _, value in lines}


def write_owner_only(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read, even one that existed with a looser mode."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_FILE)
    os.fchmod(descriptor, OWNER_ONLY_FILE)
    with open(descriptor, "w") as file:
        file.write(text)


def use_local_secrets(
    data_dir: Path, names: Mapping[str, Kind], env: MutableMapping[str, str], *, generate: bool = True
) -> None:
    """Set in ``env`` each of ``names`` it lacks from ``secrets.env``; the ones the file lacks too,
    or holds in a form their kind does not accept, are generated and saved there if ``generate``,
    else left unset (for the caller to report)."""
    path = data_dir / SECRETS_FILE
    saved = _read(path)
    wanted = [name for name in names if not env.get(name)]
    fresh = {name: names[name].generate() for name in wanted if not names[name].accepts(saved.get(name, ""))}
    if fresh and generate:
        data_dir.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
        write_owner_only(path, "".join(f"{name}={value}\n" for name, value in (saved | fresh).items()))
        saved |= fresh
    env.update({name: saved[name] for name in wanted if names[name].accepts(saved.get(name, ""))})
