"""``escalate token`` prints only a token for a rostered responder, signed with the API secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from escalation.settings import SECRET_ENV
from starter.cli import run
from starter.web.tokens import responder_of

SECRET = "test-only-api-secret-of-at-least-32-bytes"


def test_token_prints_only_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    assert run(["token", "--as", "ana", "--ttl", "1h"]) == 0
    token = capsys.readouterr().out.strip()
    assert responder_of(token, SECRET, {"ana"}) == "ana"


def test_token_refuses_strangers_and_missing_or_short_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("ESCALATION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(SECRET_ENV, SECRET)
    assert run(["token", "--as", "mallory"]) == 2
    assert "--as: 'mallory' is not in the roster" in capsys.readouterr().err
    monkeypatch.setenv(SECRET_ENV, "short")
    assert run(["token", "--as", "ana"]) == 2
    assert "shorter than 32 bytes" in capsys.readouterr().err
    monkeypatch.delenv(SECRET_ENV)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    assert run(["token", "--as", "ana"]) == 2
    assert f"{SECRET_ENV} is not set" in capsys.readouterr().err


def test_embedded_default_signs_with_the_secret_made_once_in_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.setenv("ESCALATION_DATA_DIR", str(tmp_path / "data"))
    tokens = []
    for _ in range(2):
        with monkeypatch.context() as isolated:  # each run sees the environment as a new shell would
            isolated.delenv(SECRET_ENV, raising=False)
            assert run(["token", "--as", "ana"]) == 0
        tokens.append(capsys.readouterr().out.strip())
    saved = tmp_path / "data" / "secrets.env"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    secret = dict(line.split("=", 1) for line in saved.read_text().splitlines())[SECRET_ENV]
    assert len(secret.encode()) >= 32
    assert [responder_of(token, secret, {"ana"}) for token in tokens] == ["ana", "ana"]
