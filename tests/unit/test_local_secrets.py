"""The embedded default's secrets file: made once, owner-only, reused, and an exported value wins."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

from escalation.channel_settings import is_webhook_secret
from starter.local_secrets import SECRETS_FILE, Kind, use_local_secrets

TOKENS = {"A_KEY": Kind.TOKEN, "B_SECRET": Kind.TOKEN}


def saved(data_dir: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (data_dir / SECRETS_FILE).read_text().splitlines())


def test_secrets_are_made_once_and_reused(tmp_path: Path) -> None:
    first: dict[str, str] = {}
    use_local_secrets(tmp_path / "data", TOKENS, first)
    assert stat.S_IMODE((tmp_path / "data" / SECRETS_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert first["A_KEY"] != first["B_SECRET"] and all(len(v) >= 32 for v in first.values())
    second: dict[str, str] = {}
    use_local_secrets(tmp_path / "data", TOKENS, second)
    assert second == first == saved(tmp_path / "data")


def test_an_exported_value_wins_and_is_not_written(tmp_path: Path) -> None:
    env = {"A_KEY": "exported"}
    use_local_secrets(tmp_path, TOKENS, env)
    assert env["A_KEY"] == "exported"
    assert list(saved(tmp_path)) == ["B_SECRET"]


def test_without_generating_only_saved_values_are_used(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    use_local_secrets(tmp_path / "none", {"A_KEY": Kind.TOKEN}, env, generate=False)
    assert env == {} and not (tmp_path / "none").exists()
    use_local_secrets(tmp_path, {"A_KEY": Kind.TOKEN}, {})
    use_local_secrets(tmp_path, TOKENS, env, generate=False)
    assert list(env) == ["A_KEY"] and list(saved(tmp_path)) == ["A_KEY"]


def test_webhook_secrets_are_made_in_the_standard_webhooks_form(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    use_local_secrets(tmp_path, {"HOOK_SECRET": Kind.WEBHOOK}, env)
    secret = env["HOOK_SECRET"]
    assert is_webhook_secret(secret) and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_a_webhook_secret_saved_in_the_old_form_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    """A data directory from before the Standard Webhooks signature still starts."""
    (tmp_path / SECRETS_FILE).write_text("A_KEY=kept-key\nHOOK_SECRET=old-hmac-secret\nUNUSED=also-kept\n")
    env: dict[str, str] = {}
    use_local_secrets(tmp_path, {"A_KEY": Kind.TOKEN, "HOOK_SECRET": Kind.WEBHOOK}, env)
    assert env["A_KEY"] == "kept-key" and is_webhook_secret(env["HOOK_SECRET"])
    assert saved(tmp_path) == {"A_KEY": "kept-key", "HOOK_SECRET": env["HOOK_SECRET"], "UNUSED": "also-kept"}
    assert stat.S_IMODE((tmp_path / SECRETS_FILE).stat().st_mode) == 0o600
    again: dict[str, str] = {}
    use_local_secrets(tmp_path, {"HOOK_SECRET": Kind.WEBHOOK}, again)
    assert again == {"HOOK_SECRET": env["HOOK_SECRET"]}, "the new one is reused"


def test_without_generating_an_old_form_webhook_secret_is_not_used(tmp_path: Path) -> None:
    """Left unset, so the caller reports the variable missing instead of signing with it."""
    (tmp_path / SECRETS_FILE).write_text("HOOK_SECRET=old-hmac-secret\n")
    env: dict[str, str] = {}
    use_local_secrets(tmp_path, {"HOOK_SECRET": Kind.WEBHOOK}, env, generate=False)
    assert env == {} and saved(tmp_path) == {"HOOK_SECRET": "old-hmac-secret"}
