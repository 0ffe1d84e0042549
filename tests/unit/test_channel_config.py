"""Channel configuration: contact rules, channels.yaml and templates fail at load, not at 3 a.m."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation.channel_settings import ChannelSettings
from escalation.config import load_config
from tests.support import DEMO_WEBHOOK_SECRET
from tests.unit.test_config import ROSTER, edit, problems, the_problem

CHANNELS = "channels.yaml"
TWILIO = '# twilio:                          # SMS and voice\n#   from_number: "+15005550006"'


def test_a_rule_using_a_channel_without_its_contact_detail(config_dir: Path) -> None:
    edit(config_dir, ROSTER, 'contact: {email: ben@example.com, phone: "+15550100102", ',
         "channels: [sms]\n    contact: {email: ben@example.com, ")  # fmt: skip
    problem = the_problem(config_dir, ROSTER, "responders.ben.channels")
    assert problem.endswith("responders.ben.channels: sms needs contact.phone; add it to the responder")


def test_a_severity_rule_on_a_channel_channels_yaml_does_not_set_up(config_dir: Path) -> None:
    edit(config_dir, ROSTER, "SEV1: [console, email, slack, webhook]", "SEV1: [voice]")
    problem = the_problem(config_dir, ROSTER, "responders.ana.by_severity.SEV1")
    assert problem.endswith("voice is not set up; add a twilio: section to channels.yaml")


def test_a_tier_override_that_a_target_cannot_receive(config_dir: Path) -> None:
    edit(config_dir, ROSTER, 'phone: "+15550100202", ', "")
    edit(config_dir, CHANNELS, TWILIO, 'twilio:\n  from_number: "+15005550006"')
    edit(config_dir, "policies/demo.yaml", "channels: &everywhere [console, email, slack, webhook]",
         "channels: &everywhere [console, sms]")  # fmt: skip
    problem = the_problem(config_dir, "policies/demo.yaml", "tiers[1].channels")
    assert problem.endswith("sam: sms needs contact.phone; add it to the responder")


def test_the_roster_default_must_be_reachable_for_everyone_who_relies_on_it(config_dir: Path) -> None:
    edit(config_dir, ROSTER, "default_channels: [console]", "default_channels: [email]")
    edit(config_dir, ROSTER, "{email: ben@example.com, ", "{")
    problem = the_problem(config_dir, ROSTER, "default_channels")
    assert problem.endswith(
        "default_channels (responders.ben.channels): email needs contact.email; add it to the responder"
    )


def test_an_unknown_webhook_endpoint(config_dir: Path) -> None:
    edit(config_dir, ROSTER, "webhook: ops-bridge}\n  sofia", "webhook: ops-brigde}\n  sofia")
    edit(config_dir, ROSTER, "SEV1: [console, email, slack, webhook]", "SEV1: [console]")
    edit(config_dir, "policies/demo.yaml", "channels: &everywhere [console, email, slack, webhook]",
         "channels: &everywhere [console, webhook]")  # fmt: skip
    problem = the_problem(config_dir, "policies/demo.yaml", "tiers[0].channels")
    assert problem.endswith("ben: webhook 'ops-brigde' is not under webhooks: in channels.yaml; add it")


@pytest.mark.parametrize(
    ("old", "new", "field", "fix"),
    [
        ("    url: http://127.0.0.1:8787/webhook", "    url_env: OPS_URL\n    url: http://127.0.0.1:8787/webhook",
         "webhooks.ops-bridge", "give exactly one of url or url_env"),
        ("  # username_env: ESCALATION_SMTP_USERNAME", "  username_env: ESCALATION_SMTP_USERNAME", "email",
         "username_env and password_env go together; set both or neither"),
        ("security: none", "security: tls", "email.security", "'starttls', 'ssl' or 'none'"),
        ("sender: Escalations <escalations@example.com>", "sender: escalations", "email.sender", "email"),
        ("port: 1025", "port: 70000", "email.port", "less than or equal to 65535"),
        ("secret_env: ESCALATION_OPS_BRIDGE_SECRET", "secret_env: not a name",
         "webhooks.ops-bridge.secret_env", "name an environment variable"),
    ],
)  # fmt: skip
def test_channels_yaml_problems_name_the_field(
    config_dir: Path, old: str, new: str, field: str, fix: str
) -> None:
    edit(config_dir, CHANNELS, old, new)
    assert fix in the_problem(config_dir, CHANNELS, field)


@pytest.mark.parametrize(
    ("old", "new", "fix"),
    [
        ("email: ana@example.com", "email: ana-at-example.com", "value is not a valid email address"),
        ('phone: "+15550100101"', 'phone: "555 0101"', "write the number in E.164"),
        ("mention: U0ANA0001", "mention: '@ana'", "use the Slack member id"),
    ],
)
def test_contact_details_are_checked(config_dir: Path, old: str, new: str, fix: str) -> None:
    edit(config_dir, ROSTER, old, new)
    assert fix in the_problem(config_dir, ROSTER, "responders.ana.contact")


def test_a_missing_template(config_dir: Path) -> None:
    (config_dir / "templates" / "sms.txt.j2").unlink()
    [problem] = problems(config_dir)
    assert (
        problem
        == f"{config_dir / 'templates' / 'sms.txt.j2'}: template is missing; copy it from config/templates"
    )


def test_a_template_syntax_error_names_the_line(config_dir: Path) -> None:
    (config_dir / "templates" / "email.txt.j2").write_text("line one\n{{ page.headline }\n")
    [problem] = problems(config_dir)
    assert problem.startswith(f"{config_dir / 'templates' / 'email.txt.j2'}: line 2: ")
    assert problem.endswith("fix the template")


def test_a_template_using_an_unknown_field_fails_at_load(config_dir: Path) -> None:
    (config_dir / "templates" / "voice.txt.j2").write_text("Incident {{ page.titel }}")
    [problem] = problems(config_dir)
    assert "voice.txt.j2" in problem and "titel" in problem


def test_a_slack_template_that_is_not_json(config_dir: Path) -> None:
    (config_dir / "templates" / "slack.json.j2").write_text("{{ page.headline }}")
    [problem] = problems(config_dir)
    assert "slack.json.j2" in problem and "fix the template" in problem


def test_without_channels_yaml_only_the_console_is_available(config_dir: Path) -> None:
    (config_dir / CHANNELS).unlink()
    edit(config_dir, ROSTER, "SEV1: [console, email, slack, webhook]", "SEV1: [console]")
    edit(config_dir, "policies/demo.yaml", "channels: &everywhere [console, email, slack, webhook]",
         "channels: &everywhere [console]")  # fmt: skip
    config = load_config(config_dir)
    assert config.channels == ChannelSettings()
    (config_dir / "policies" / "demo.yaml").write_text(
        (config_dir / "policies" / "demo.yaml").read_text().replace("[console]", "[console, email]")
    )
    demo = config_dir / "policies" / "demo.yaml"
    assert f"{demo}: tiers[0].channels: ana: email is not set up; add an email: section to channels.yaml" in (
        problems(config_dir)
    )


def test_missing_secrets_name_the_variable_and_where_it_is_used(config_dir: Path) -> None:
    settings = load_config(config_dir).channels
    assert settings.secret_problems({}, "channels.yaml") == [
        "channels.yaml: webhooks.ops-bridge.secret_env: environment variable ESCALATION_OPS_BRIDGE_SECRET "
        "is not set; export it where the worker runs"
    ]
    assert (
        settings.secret_problems({"ESCALATION_OPS_BRIDGE_SECRET": DEMO_WEBHOOK_SECRET}, "channels.yaml") == []
    )


def test_the_slack_signing_secret_is_named_by_its_variable_and_only_the_api_needs_it(
    config_dir: Path,
) -> None:
    templates = "templates: templates"
    edit(config_dir, CHANNELS, templates, f"slack_app: {{signing_secret_env: SLACK_SIGNING}}\n{templates}")
    settings = load_config(config_dir).channels
    assert settings.slack_app and settings.slack_app.signing_secret_env == "SLACK_SIGNING"
    assert "SLACK_SIGNING" not in dict(settings.secret_names()).values(), "the worker does not need it"
    default = ChannelSettings.model_validate({"slack_app": {}}).slack_app
    assert default and default.signing_secret_env == "SLACK_SIGNING_SECRET"
    edit(config_dir, CHANNELS, "slack_app: {signing_secret_env: SLACK_SIGNING}", "slack_app: {secret: x}")
    assert the_problem(config_dir, CHANNELS, "slack_app.secret").endswith(
        "unknown key; allowed keys: signing_secret_env"
    )


def test_a_slack_member_id_names_one_responder(config_dir: Path) -> None:
    edit(config_dir, ROSTER, "slack: {webhook: team-room}, webhook: ops-bridge}",
         "slack: {webhook: team-room, mention: U0ANA0001}, webhook: ops-bridge}")  # fmt: skip
    problem = the_problem(config_dir, ROSTER, "responders")
    assert "ana and ben have the same contact.slack.mention" in problem


def test_a_phone_number_names_one_responder(config_dir: Path) -> None:
    edit(config_dir, ROSTER, 'phone: "+15550100102"', 'phone: "+15550100101"')  # ben gets ana's number
    problem = the_problem(config_dir, ROSTER, "responders")
    assert "ana and ben have the same contact.phone" in problem
    assert "+15550100101" not in problem, "contact details never reach errors"


def test_a_ca_file_is_found_relative_to_the_configuration_directory(config_dir: Path) -> None:
    edit(config_dir, CHANNELS, "security: none", "security: starttls\n  ca_file: certs/relay.pem")
    problem = the_problem(config_dir, CHANNELS, "email.ca_file")
    assert problem.endswith(
        f"{config_dir / 'certs' / 'relay.pem'} is not a file; point it at a PEM bundle of CA certificates"
    )
    (config_dir / "certs").mkdir()
    (config_dir / "certs" / "relay.pem").write_text("")
    assert load_config(config_dir).channels.email.ca_file == config_dir / "certs" / "relay.pem"  # type: ignore[union-attr]


def test_opening_incidents_does_not_depend_on_channels_yaml(config_dir: Path) -> None:
    (config_dir / CHANNELS).write_text("email: {host: ''}\n")
    assert problems(config_dir)
    config = load_config(config_dir, with_channels=False)
    assert "demo" in config.policies and config.channels == ChannelSettings()


def with_smtp_credentials(config_dir: Path) -> None:
    for key in ("username_env: ESCALATION_SMTP_USERNAME", "password_env: ESCALATION_SMTP_PASSWORD"):
        edit(config_dir, CHANNELS, f"# {key}", key)


def test_smtp_credentials_are_never_sent_unencrypted_to_another_host(config_dir: Path) -> None:
    with_smtp_credentials(config_dir)
    edit(config_dir, CHANNELS, "host: 127.0.0.1", "host: smtp.example.com")
    assert the_problem(config_dir, CHANNELS, "email").endswith(
        "security: none would send the SMTP password in clear to smtp.example.com; use security: "
        "starttls or ssl (none with credentials is allowed only to localhost, 127.0.0.0/8 or ::1)"
    )


@pytest.mark.parametrize(
    ("host", "security"),
    [("127.0.0.1", "none"), ("localhost", "none"), ("'::1'", "none"), ("smtp.example.com", "starttls")],
)
def test_smtp_credentials_may_go_unencrypted_only_to_this_machine(
    config_dir: Path, host: str, security: str
) -> None:
    with_smtp_credentials(config_dir)
    edit(config_dir, CHANNELS, "host: 127.0.0.1", f"host: {host}")
    edit(config_dir, CHANNELS, "security: none", f"security: {security}")
    assert load_config(config_dir).channels.email is not None


def test_twilio_basic_auth_is_never_sent_over_plain_http_to_another_host(config_dir: Path) -> None:
    edit(config_dir, CHANNELS, TWILIO,
         'twilio:\n  base_url: http://twilio-proxy.example.com\n  from_number: "+15005550006"')  # fmt: skip
    assert the_problem(config_dir, CHANNELS, "twilio.base_url").endswith(
        "http:// would send the Twilio auth token in clear to twilio-proxy.example.com; use https:// "
        "(http is allowed only to localhost, 127.0.0.0/8 or ::1)"
    )


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "https://proxy.example.com"],
)
def test_twilio_over_http_is_allowed_only_to_this_machine(config_dir: Path, base_url: str) -> None:
    edit(config_dir, CHANNELS, TWILIO, f'twilio:\n  base_url: {base_url}\n  from_number: "+15005550006"')
    twilio = load_config(config_dir).channels.twilio
    assert twilio is not None and str(twilio.base_url).startswith(base_url)
