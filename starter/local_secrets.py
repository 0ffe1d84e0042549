"""Secrets for the embedded default, generated once so that ``escalate up`` works as shipped.

The shipped configuration names a webhook signing secret and an integration key, and the API
needs a token secret; on a laptop nobody should have to invent them before trying the product.
They are generated into an owner-only ``secrets.env`` in the data directory, reused by later
runs, and a value exported in the environment always wins. Anywhere else (``TEMPORAL_ADDRESS``
set) missing secrets stay an error: a deployment decides its own.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, MutableMapping
from pathlib import Path

from activities.records import OWNER_ONLY_DIR, OWNER_ONLY_FILE
from escalation.config import Config
from escalation.settings import SECRET_ENV

SECRETS_FILE = "secrets.env"
SECRET_BYTES = 32


def generated_names(config: Config) -> list[str]:
    """The variables that can be made up locally: webhook signing secrets, integration keys and
    the API's token secret (never credentials of outside services, such as an SMTP password)."""
    keys = [i.key_env for i in config.integrations.integrations.values()]
    return [*webhook_secret_names(config), *keys, SECRET_ENV]


def webhook_secret_names(config: Config) -> list[str]:
    """The generated secrets a worker or ``escalate inbox`` needs: the webhook signing secrets."""
    return [w.secret_env for w in config.channels.webhooks.values() if w.secret_env]


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
    data_dir: Path, names: Iterable[str], env: MutableMapping[str, str], *, generate: bool = True
) -> None:
    """Set in ``env`` each of ``names`` it lacks from ``secrets.env``; the ones the file lacks too
    are generated and saved there if ``generate``, else left unset (for the caller to report)."""
    path = data_dir / SECRETS_FILE
    saved = _read(path)
    wanted = [name for name in dict.fromkeys(names) if not env.get(name)]
    fresh = {name: secrets.token_urlsafe(SECRET_BYTES) for name in wanted if not saved.get(name)}
    if fresh and generate:
        data_dir.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
        write_owner_only(path, "".join(f"{name}={value}\n" for name, value in (saved | fresh).items()))
        saved |= fresh
    env.update({name: saved[name] for name in wanted if saved.get(name)})
