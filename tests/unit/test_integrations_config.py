"""``integrations.yaml`` is loaded with the rest of the configuration and checked by ``escalate check``."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation.config import ConfigError, load_config
from escalation.integrations import Integration
from escalation.models import Severity
from starter.cli import run
from tests.support import DEMO_ALERTS_KEY_ENV


def test_the_example_ships_a_demo_integration(config_dir: Path) -> None:
    demo = load_config(config_dir, with_channels=False).integrations.integrations["demo-alerts"]
    assert demo.service == "demo"
    assert demo.key_env == DEMO_ALERTS_KEY_ENV
    assert demo.severity_of("critical") is Severity.SEV1
    assert demo.severity_of("page-someone") is Severity.SEV3


def test_without_the_file_there_are_no_integrations(config_dir: Path) -> None:
    (config_dir / "integrations.yaml").unlink()
    assert load_config(config_dir, with_channels=False).integrations.integrations == {}


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("      servce: demo\n", "integrations.bad.servce: unknown key; did you mean 'service'?"),
        ("      service: Not A Service\n", "integrations.bad.service: use lower-case letters"),
        (
            "      service: demo\n      policy: nowhere\n",
            "integrations.bad.policy: policy 'nowhere' does not exist; use one of: demo, support",
        ),
        ("      service: demo\n      default_severity: SEV9\n", "integrations.bad.default_severity:"),
    ],
)
def test_mistakes_name_the_field(config_dir: Path, entry: str, problem: str) -> None:
    (config_dir / "integrations.yaml").write_text(
        f"integrations:\n    bad:\n      key_env: BAD_KEY\n{entry}", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(config_dir, with_channels=False)
    assert any(problem in line for line in raised.value.problems), raised.value.problems


def test_check_names_a_missing_integration_key_unless_skipping_secrets(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ESCALATION_CONFIG", str(config_dir))
    monkeypatch.delenv(DEMO_ALERTS_KEY_ENV)
    assert run(["check"]) == 2
    error = capsys.readouterr().err
    assert f"integrations.demo-alerts.key_env: environment variable {DEMO_ALERTS_KEY_ENV} is not set" in error
    assert run(["check", "--skip-secrets"]) == 0


def test_an_integration_with_defaults_only() -> None:
    integration = Integration(service="checkout", key_env="ESCALATION_CHECKOUT_ALERTS_KEY")
    assert integration.policy is None and integration.rate_limit_per_minute == 120
