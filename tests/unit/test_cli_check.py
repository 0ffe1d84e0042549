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
    out = capsys.readouterr().out
    assert "9 responders" in out
    # support: frontline 15m + 10m, supervisor 10m + 10m, specialist 15m + 15m; SEV1 starts at the
    # supervisor; scaled by 0.5 (SEV1), 0.75 (SEV2), 1 (SEV3), 2 (SEV4)
    assert (
        "policy support: last tier management paged at worst after SEV1 25m, SEV2 56m15s, SEV3 1h15m, "
        "SEV4 2h30m\n" in out
    )


def test_check_reports_a_webhook_secret_in_an_old_form_without_quoting_it(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ESCALATION_CONFIG", str(config_dir))
    monkeypatch.setenv(DEMO_WEBHOOK_SECRET_ENV, "an-hmac-secret-from-before")
    assert run(["check"]) == 2
    error = capsys.readouterr().err
    assert f"environment variable {DEMO_WEBHOOK_SECRET_ENV} must hold a Standard Webhooks secret" in error
    assert "an-hmac-secret-from-before" not in error


def test_up_refuses_to_start_without_them(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALATION_CONFIG", str(config_dir))
    monkeypatch.setenv("ESCALATION_DATA_DIR", str(config_dir.parent / "data"))  # no saved secrets there
    monkeypatch.delenv(DEMO_WEBHOOK_SECRET_ENV, raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # never reached: the check comes first
    assert run(["up"]) == 2


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "/dev/zero: is larger than the 1 MiB limit; point to a smaller YAML file"),
        ("? [title]\n: db down\n", "line 1: a key must be a plain value, not a list or mapping"),
    ],
)
def test_trigger_refuses_an_unusable_incident_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, problem: str
) -> None:
    path = Path("/dev/zero")
    if content is not None:
        path = tmp_path / "incident.yaml"
        path.write_text(content, encoding="utf-8")
    assert run(["trigger", "--file", str(path), "--service", "payments", "--severity", "SEV2"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"escalate: --file {path}: ") and problem in error
    assert error.count("\n") == 1 and "Traceback" not in error


def test_a_broken_temporal_profile_file_is_named_without_quoting_its_api_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    profiles = tmp_path / "temporal.toml"
    profiles.write_text(
        '[profile.default]\naddress = "temporal.example.com:7233"\napi_key = "sk-live-do-not-print\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(profiles))
    assert run(["status", "incident:payments:db-down"]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"escalate: Temporal connection settings are invalid: {profiles}: line 3, ")
    assert "sk-live-do-not-print" not in error and "api_key" not in error
    assert error.count("\n") == 1 and "Traceback" not in error
