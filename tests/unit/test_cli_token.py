"""``escalate token`` prints only a token for a rostered responder, signed with the API secret."""

from __future__ import annotations

import pytest

from starter.cli import run
from starter.web.tokens import SECRET_ENV, responder_of

SECRET = "test-only-api-secret-of-at-least-32-bytes"


def test_token_prints_only_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    assert run(["token", "--as", "ana", "--ttl", "1h"]) == 0
    token = capsys.readouterr().out.strip()
    assert responder_of(token, SECRET, {"ana"}) == "ana"


def test_token_refuses_strangers_and_missing_or_short_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    assert run(["token", "--as", "mallory"]) == 2
    assert "--as: 'mallory' is not in the roster" in capsys.readouterr().err
    monkeypatch.setenv(SECRET_ENV, "short")
    assert run(["token", "--as", "ana"]) == 2
    assert "shorter than 32 bytes" in capsys.readouterr().err
    monkeypatch.delenv(SECRET_ENV)
    assert run(["token", "--as", "ana"]) == 2
    assert f"{SECRET_ENV} is not set" in capsys.readouterr().err
