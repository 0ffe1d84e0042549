"""The worker refuses to start, with the fix, when a channel cannot be set up."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from activities.notify import Notifier
from escalation.config import ConfigError, load_config
from tests.support import DEMO_WEBHOOK_SECRET, DEMO_WEBHOOK_SECRET_ENV
from tests.unit.test_config import edit

CHANNELS = "channels.yaml"
SIGNING = {DEMO_WEBHOOK_SECRET_ENV: DEMO_WEBHOOK_SECRET}


def test_a_missing_secret_stops_the_worker(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Notifier(load_config(config_dir), {}, "http://ui", "default")
    assert caught.value.problems == [
        f"{config_dir / CHANNELS}: webhooks.ops-bridge.secret_env: environment variable "
        "ESCALATION_OPS_BRIDGE_SECRET is not set; export it where the worker runs"
    ]


@pytest.mark.parametrize(
    "secret",
    ["a-long-enough-secret-from-before-standard-webhooks", "whsec_", "whsec_c2hvcnQ=", "whsec_" + "A" * 90,
     "whsec_dGhlIHRlc3Qtb25seSB3ZWJob29r-_-_c2lnbmluZyBzZWNyZXQ", "whsec_" + "\u00e9" * 40],
)  # fmt: skip
def test_a_webhook_secret_the_library_cannot_use_stops_the_worker(config_dir: Path, secret: str) -> None:
    """Not a prefix, too short, too long, URL-safe base64 (the library would skip the ``-_``), not ASCII."""
    with pytest.raises(ConfigError) as caught:
        Notifier(load_config(config_dir), {DEMO_WEBHOOK_SECRET_ENV: secret}, "http://ui", "default")
    assert caught.value.problems == [  # the variable, never its value
        f"{config_dir / CHANNELS}: webhooks.ops-bridge.secret_env: environment variable "
        "ESCALATION_OPS_BRIDGE_SECRET must hold a Standard Webhooks secret: whsec_ followed by base64 "
        "of 24 to 64 random bytes; generate one with: python3 -c 'import base64, secrets; "
        'print("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())\''
    ]


def test_the_suggested_command_makes_a_secret_the_worker_accepts(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Notifier(load_config(config_dir), {DEMO_WEBHOOK_SECRET_ENV: "s"}, "http://ui", "default")
    command = caught.value.problems[0].split("generate one with: ", 1)[1]
    made = subprocess.run(shlex.split(command.replace("python3", sys.executable, 1)), capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    Notifier(load_config(config_dir), {DEMO_WEBHOOK_SECRET_ENV: made}, "http://ui", "default")


def test_a_ca_file_that_is_not_a_certificate_bundle_stops_the_worker(config_dir: Path) -> None:
    edit(config_dir, CHANNELS, "security: none", "security: starttls\n  ca_file: relay.pem")
    (config_dir / "relay.pem").write_text("not a certificate")
    with pytest.raises(ConfigError) as caught:
        Notifier(load_config(config_dir), SIGNING, "http://ui", "default")
    [problem] = caught.value.problems
    assert problem.startswith(f"channels.yaml: email.ca_file: {config_dir / 'relay.pem'} cannot be used (")
    assert problem.endswith("use a PEM bundle")


def test_short_values_are_not_redacted_from_reasons(config_dir: Path) -> None:
    notifier = Notifier(load_config(config_dir), SIGNING, "http://ui", "default")
    assert notifier.redact(f"HTTP 401 for {DEMO_WEBHOOK_SECRET.upper()}") == "HTTP 401 for [redacted]"
    assert notifier.redact("ana@example.com refused") == "[redacted] refused"
    edit(config_dir, CHANNELS, "  # username_env: ESCALATION_SMTP_USERNAME\n  # password_env:",
         "  username_env: ESCALATION_SMTP_USERNAME\n  password_env:")  # fmt: skip
    env = SIGNING | {"ESCALATION_SMTP_USERNAME": "escalations", "ESCALATION_SMTP_PASSWORD": "api"}
    short = Notifier(load_config(config_dir), env, "http://ui", "default")
    assert short.redact("rapid api change") == "rapid api change"


SLACK_TOKEN = "XyZsecretTOKEN0123"
SLACK_URL = f"https://Hooks.Example.COM/services/T0001/B0001/{SLACK_TOKEN}%7E"


@pytest.fixture
def slack_from_env(config_dir: Path) -> Notifier:
    """The example configuration with its Slack webhook URL, a secret, taken from the environment."""
    edit(config_dir, CHANNELS, "url: http://127.0.0.1:8787/slack/team-room", "url_env: SLACK_URL")
    env = SIGNING | {"SLACK_URL": SLACK_URL}
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
        (f"HTTP 401 for {DEMO_WEBHOOK_SECRET.lower()}", "HTTP 401 for [redacted]"),
    ],
)  # fmt: skip
def test_reasons_lose_every_url_path_and_secret_however_they_are_spelt(
    slack_from_env: Notifier, reason: str, redacted: str
) -> None:
    assert slack_from_env.redact(reason) == redacted
