"""The worker refuses to start, with the fix, when a channel cannot be set up."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.notify import Notifier
from escalation.config import ConfigError, load_config
from tests.unit.test_config import edit

CHANNELS = "channels.yaml"


def test_a_missing_secret_stops_the_worker(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Notifier(load_config(config_dir), {}, "http://ui", "default")
    assert caught.value.problems == [
        f"{config_dir / CHANNELS}: webhooks.ops-bridge.secret_env: environment variable "
        "ESCALATION_OPS_BRIDGE_SECRET is not set; export it where the worker runs"
    ]


def test_a_ca_file_that_is_not_a_certificate_bundle_stops_the_worker(config_dir: Path) -> None:
    edit(config_dir, CHANNELS, "security: none", "security: starttls\n  ca_file: relay.pem")
    (config_dir / "relay.pem").write_text("not a certificate")
    with pytest.raises(ConfigError) as caught:
        Notifier(load_config(config_dir), {"ESCALATION_OPS_BRIDGE_SECRET": "s"}, "http://ui", "default")
    [problem] = caught.value.problems
    assert problem.startswith(f"channels.yaml: email.ca_file: {config_dir / 'relay.pem'} cannot be used (")
    assert problem.endswith("use a PEM bundle")


def test_short_values_are_not_redacted_from_reasons(config_dir: Path) -> None:
    env = {"ESCALATION_OPS_BRIDGE_SECRET": "a-long-enough-secret"}
    notifier = Notifier(load_config(config_dir), env, "http://ui", "default")
    assert notifier.redact("HTTP 401 for a-long-enough-secret") == "HTTP 401 for [redacted]"
    assert notifier.redact("ana@example.com refused") == "[redacted] refused"
    short = Notifier(load_config(config_dir), {"ESCALATION_OPS_BRIDGE_SECRET": "api"}, "http://ui", "default")
    assert short.redact("rapid api change") == "rapid api change"
