"""``escalate check`` validates what a worker started here would need, secrets included."""

from __future__ import annotations

from pathlib import Path

import pytest

from starter.cli import run
from tests.support import DEMO_WEBHOOK_SECRET_ENV


def test_check_requires_the_channels_secrets(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ESCALATION_CONFIG", str(config_dir))
    monkeypatch.delenv(DEMO_WEBHOOK_SECRET_ENV, raising=False)
    assert run(["check"]) == 2
    error = capsys.readouterr().err
    assert (
        f"environment variable {DEMO_WEBHOOK_SECRET_ENV} is not set; export it where the worker runs" in error
    )
    assert run(["check", "--skip-secrets"]) == 0
    assert "9 responders" in capsys.readouterr().out


def test_up_refuses_to_start_without_them(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALATION_CONFIG", str(config_dir))
    monkeypatch.delenv(DEMO_WEBHOOK_SECRET_ENV, raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # never reached: the check comes first
    assert run(["up"]) == 2
