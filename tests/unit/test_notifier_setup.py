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


SLACK_TOKEN = "XyZsecretTOKEN0123"
SLACK_URL = f"https://Hooks.Example.COM/services/T0001/B0001/{SLACK_TOKEN}%7E"


@pytest.fixture
def slack_from_env(config_dir: Path) -> Notifier:
    """The example configuration with its Slack webhook URL, a secret, taken from the environment."""
    edit(config_dir, CHANNELS, "url: http://127.0.0.1:8787/slack/team-room", "url_env: SLACK_URL")
    env = {"ESCALATION_OPS_BRIDGE_SECRET": "a-long-enough-secret", "SLACK_URL": SLACK_URL}
    return Notifier(load_config(config_dir), env, "http://ui", "default")


@pytest.mark.parametrize(
    ("reason", "redacted"),
    [
        # aiohttp's errors: host lower-cased, percent-encoding normalised, old and new reprs
        ("0, message='', url='https://hooks.example.com/services/T0001/B0001/XyZsecretTOKEN0123~'",
         "0, message='', url='https://hooks.example.com/[redacted]'"),
        ("url=URL('https://hooks.example.com:443/services/T0001/B0001/XyZsecretTOKEN0123~')",
         "url=URL('https://hooks.example.com:443/[redacted]')"),
        # any URL, known or not: credentials, path, query and fragment go, the origin stays
        ("via http://user:pa55word@[::1]:8080?token=abc#frag then", "via http://[::1]:8080/[redacted] then"),
        ("see https://status.example.com/ and https://status.example.com",
         "see https://status.example.com and https://status.example.com"),
        # a receiver echoing the path only, in any case
        ("Cannot POST /services/t0001/b0001/xyzsecrettoken0123~", "Cannot POST [redacted]"),
        # contact details and secrets in any case; any e-mail address at all
        ("550 5.1.1 <ANA@EXAMPLE.COM>: unknown; cc someone@corp.example",
         "550 5.1.1 <[redacted]>: unknown; cc [redacted]"),
        ("HTTP 401 for A-LONG-ENOUGH-SECRET", "HTTP 401 for [redacted]"),
    ],
)  # fmt: skip
def test_reasons_lose_every_url_path_and_secret_however_they_are_spelt(
    slack_from_env: Notifier, reason: str, redacted: str
) -> None:
    assert slack_from_env.redact(reason) == redacted
