"""Each channel against a real local server: what arrives, how failures are retried and reported."""

from __future__ import annotations

import dataclasses
import os
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from temporalio.testing import ActivityEnvironment

from activities.action_links import ActionLinks, LinkClaims, read_link
from activities.delivery import REDACTED
from activities.knowledge import SimilarLookup
from activities.notify import Notifier
from escalation.config import load_config
from escalation.models import Channel, Severity
from escalation.replies import PagedStep
from escalation.state import Delivery, NotifyRequest, Phase
from tests.receivers import (
    SECRET_SLACK_PATH,
    SLACK_TOKEN,
    TWILIO_ENV,
    Receivers,
    RecipientRefusingRelay,
    start_smtp,
    tls_contexts,
)
from tests.support import DEMO_WEBHOOK_SECRET, DEMO_WEBHOOK_SECRET_ENV, OTHER_WEBHOOK_SECRET, incident

UI = "http://ui.test:8233"
STEP_KEY = "incident:payments:db-down/run-1/r0/t0/primary/p1"
PUBLIC = "https://escalations.test"
LINK_SECRET = "test-only-link-secret-of-at-least-32-bytes"
TRIGGERED_AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def request(targets: list[str], channels: list[Channel] | None, *, severity: Severity = Severity.SEV2,
            within: timedelta = timedelta(seconds=30), first_page: bool = False,
            ) -> NotifyRequest:  # fmt: skip
    return NotifyRequest(
        incident_id="incident:payments:db-down", idempotency_key=STEP_KEY, incident=incident(severity),
        severity=severity, tier_name="frontline", phase=Phase.PRIMARY, targets=targets, channels=channels,
        deadline=datetime(2026, 11, 25, 3, 15, tzinfo=UTC), deliver_within=within, triggered_at=TRIGGERED_AT,
        first_page=first_page,
    )  # fmt: skip


def notifier(config_dir: Path, env: Mapping[str, str] | None = None, *, links: bool = True,
             similar: SimilarLookup | None = None) -> Notifier:  # fmt: skip
    minter = ActionLinks(LINK_SECRET, PUBLIC, timedelta(hours=24)) if links else None
    return Notifier(
        load_config(config_dir), {**os.environ, **TWILIO_ENV, **(env or {})}, UI, "default", minter,
        similar=similar,
    )  # fmt: skip


def link_claims(url: str) -> LinkClaims:
    assert url.startswith(f"{PUBLIC}/a/")
    return read_link(url.removeprefix(f"{PUBLIC}/a/"), LINK_SECRET)


async def notify(n: Notifier, req: NotifyRequest, env: ActivityEnvironment | None = None) -> list[Delivery]:
    return (await (env or ActivityEnvironment()).run(n.notify, req)).deliveries


def only(deliveries: list[Delivery], channel: Channel) -> list[Delivery]:
    return [d for d in deliveries if d.channel is channel]


async def test_email_carries_the_report_links_and_exact_commands(
    receivers: Receivers, tmp_path: Path
) -> None:
    n = notifier(receivers.config_dir(tmp_path))
    [delivery] = await notify(n, request(["ana"], [Channel.EMAIL]))
    assert (delivery.responder, delivery.delivered, delivery.detail) == ("ana", True, "")

    [mail] = receivers.inbox.pages
    assert mail.key == f"{STEP_KEY}/email/ana"
    assert mail.content["to"] == "Ana Frontline <ana@example.com>"
    assert mail.content["subject"].startswith("[SEV2] payments: Checkout database unreachable")
    for part in ("text", "html"):
        body = mail.content[part]
        assert "Primary Postgres refuses connections" in body and "checkout failing" in body
        assert "restore the primary" in body and "2026-11-25 03:15:00 UTC" in body
        assert "escalate ack incident:payments:db-down --as ana" in body
        assert "escalate resolve incident:payments:db-down --as ana" in body
        assert f"{UI}/namespaces/default/workflows/incident%3Apayments%3Adb-down" in body
        urls = re.findall(rf"{re.escape(PUBLIC)}/a/[A-Za-z0-9_.-]+", body)
        claims = [link_claims(url) for url in dict.fromkeys(urls)]
        assert [(c.action, c.responder, c.incident_id) for c in claims] == [
            (action, "ana", "incident:payments:db-down") for action in ("acknowledge", "resolve", "escalate")
        ]
        assert all(c.triggered_at == TRIGGERED_AT and c.tier_name == "frontline" for c in claims)
    assert "<table>" in mail.content["html"]


async def test_without_links_set_up_pages_carry_the_commands_only(
    receivers: Receivers, tmp_path: Path
) -> None:
    n = notifier(receivers.config_dir(tmp_path), links=False)
    await notify(n, request(["ana"], [Channel.EMAIL, Channel.WEBHOOK]))
    mail, hook = sorted(receivers.inbox.pages, key=lambda page: page.channel)
    assert (
        "/a/" not in mail.content["text"] and "escalate ack incident:payments:db-down" in mail.content["text"]
    )
    assert hook.content["targets"] == [{"id": "ana", "name": "Ana Frontline", "actions": None}]


async def test_email_upgrades_with_starttls_and_logs_in_with_credentials_from_the_environment(
    receivers: Receivers, tmp_path: Path
) -> None:
    server_tls, ca_file = tls_contexts(tmp_path)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: object, session: object, envelope: object, mechanism: str, auth: object
    ) -> AuthResult:
        assert isinstance(auth, LoginPassword)
        logins.append((auth.login, auth.password))
        return AuthResult(success=auth.password == b"relay-password", handled=False)

    relay, port = start_smtp(receivers.inbox, tls_context=server_tls, require_starttls=True,
                             authenticator=authenticator, auth_required=True)  # fmt: skip
    try:
        settings = {"port": port, "security": "starttls", "ca_file": str(ca_file),
                    "username_env": "RELAY_USER", "password_env": "RELAY_PASSWORD"}  # fmt: skip
        config = receivers.config_dir(tmp_path, email=settings)
        good = notifier(config, {"RELAY_USER": "pager", "RELAY_PASSWORD": "relay-password"})
        [delivered] = await notify(good, request(["ana"], [Channel.EMAIL]))
        bad = notifier(config, {"RELAY_USER": "pager", "RELAY_PASSWORD": "wrong"})
        [refused] = await notify(bad, request(["ben"], [Channel.EMAIL]))
    finally:
        relay.stop()

    assert delivered.delivered and len(receivers.inbox.pages) == 1
    assert logins[0] == (b"pager", b"relay-password") and set(logins[1:]) == {(b"pager", b"wrong")}
    assert not refused.delivered and "SMTP login refused" in refused.detail
    assert "refused after 1 attempt" in refused.detail, "bad credentials are not retried"


async def test_email_over_implicit_tls(receivers: Receivers, tmp_path: Path) -> None:
    server_tls, ca_file = tls_contexts(tmp_path)
    relay, port = start_smtp(receivers.inbox, ssl_context=server_tls)
    try:
        config = receivers.config_dir(
            tmp_path, email={"port": port, "security": "ssl", "ca_file": str(ca_file)}
        )
        [delivery] = await notify(notifier(config), request(["sofia"], [Channel.EMAIL]))
    finally:
        relay.stop()
    assert delivery.delivered, delivery.detail
    assert receivers.inbox.pages[0].content["to"] == "Sofia Supervisor <sofia@example.com>"


async def test_webhook_document_is_signed_and_carries_no_contact_details(
    receivers: Receivers, tmp_path: Path
) -> None:
    n = notifier(receivers.config_dir(tmp_path))
    deliveries = await notify(n, request(["ana", "ben"], [Channel.WEBHOOK]))
    assert [(d.responder, d.delivered) for d in deliveries] == [("ana", True), ("ben", True)]

    [page] = receivers.inbox.pages  # one signed document for both targets: the inbox refuses bad signatures
    document = page.content
    assert document["schema"] == "escalation.page.v1"
    assert document["idempotency_key"] == page.key == f"{STEP_KEY}/webhook/ops-bridge"
    assert document["incident_id"] == "incident:payments:db-down"
    assert document["incident"]["report"]["ask"] == "restore the primary"
    assert document["severity"] == "SEV2"
    assert document["tier"] == {"name": "frontline", "phase": "primary", "round": 1}
    assert [(t["id"], t["name"]) for t in document["targets"]] == [
        ("ana", "Ana Frontline"),
        ("ben", "Ben Frontline"),
    ]
    for target in document["targets"]:
        assert {a: link_claims(url).responder for a, url in target["actions"].items()} == dict.fromkeys(
            ("acknowledge", "resolve", "escalate"), target["id"]
        )
    assert document["acknowledge_by"] == "2026-11-25T03:15:00+00:00"
    assert document["links"]["web_ui"].startswith(UI)
    assert document["commands"]["acknowledge"] == "escalate ack incident:payments:db-down --as YOUR-ID"
    assert "example.com" not in str(document) and "+1555" not in str(document)


async def test_webhook_signed_with_the_wrong_secret_is_refused_at_once(
    receivers: Receivers, tmp_path: Path
) -> None:
    n = notifier(receivers.config_dir(tmp_path), {DEMO_WEBHOOK_SECRET_ENV: OTHER_WEBHOOK_SECRET})
    [delivery] = await notify(n, request(["ana"], [Channel.WEBHOOK]))
    assert not delivery.delivered
    assert delivery.detail == "HTTP 401 Unauthorized (refused after 1 attempt)"
    assert len(receivers.faults.requests) == 1 and receivers.inbox.pages == []


async def test_a_sent_page_verifies_with_the_standard_webhooks_library(
    receivers: Receivers, tmp_path: Path
) -> None:
    """Checked with the library itself, as any receiver would, on a key with the characters the
    spec forbids (``.``) or headers cannot carry."""
    step_key = "incident:payments:db.down v2 ü/run-1/r0/t0/primary/p1"
    dotted = request(["ana"], [Channel.WEBHOOK]).model_copy(update={"idempotency_key": step_key})
    [delivery] = await notify(notifier(receivers.config_dir(tmp_path)), dotted)
    assert delivery.delivered, delivery.detail

    [(headers, body)] = receivers.faults.raw
    page = Webhook(DEMO_WEBHOOK_SECRET).verify(body, headers)
    assert page["idempotency_key"] == unquote(headers["webhook-id"]) == f"{step_key}/webhook/ops-bridge"
    assert "." not in headers["webhook-id"] and headers["webhook-id"].isascii()
    assert unquote(headers["Idempotency-Key"]) == page["idempotency_key"]
    assert headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER_WEBHOOK_SECRET).verify(body, headers)
    assert [p.key for p in receivers.inbox.pages] == [f"{step_key}/webhook/ops-bridge"]


async def test_slack_gets_one_block_kit_message_per_room_mentioning_each_target(
    receivers: Receivers, tmp_path: Path
) -> None:
    n = notifier(receivers.config_dir(tmp_path))
    deliveries = await notify(n, request(["ana", "ben"], [Channel.SLACK], severity=Severity.SEV1))
    assert all(d.delivered for d in deliveries) and len(deliveries) == 2

    [message] = receivers.inbox.pages
    assert message.channel == "slack" and message.endpoint == "team-room"
    blocks = message.content["blocks"]
    headline = "SEV1 payments: Checkout database unreachable"
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": headline}}
    assert "<@U0ANA0001>, Ben Frontline" in blocks[1]["text"]["text"]
    assert {"type": "mrkdwn", "text": "*Impact*\ncheckout failing"} in blocks[2]["fields"]
    assert "escalate ack incident:payments:db-down --as YOUR-ID" in blocks[3]["text"]["text"]
    acknowledge, escalate, *resolves, web_ui = blocks[4]["elements"]
    step = PagedStep.model_validate_json(acknowledge["value"])
    assert step == PagedStep.of(request(["ana"], None)) and escalate["value"] == acknowledge["value"]
    assert [(b["text"]["text"], link_claims(b["url"]).responder) for b in resolves] == [
        ("Resolve as Ana Frontline", "ana"), ("Resolve as Ben Frontline", "ben")
    ]  # fmt: skip
    assert {link_claims(b["url"]).action for b in resolves} == {"resolve"}
    assert web_ui["url"].startswith(f"{UI}/namespaces/default/workflows/")
    assert message.content["text"].startswith(headline)


async def test_sms_and_voice_speak_twilios_api(receivers: Receivers, tmp_path: Path) -> None:
    n = notifier(receivers.config_dir(tmp_path))
    deliveries = await notify(n, request(["ana"], [Channel.SMS, Channel.VOICE]))
    assert [(d.channel, d.delivered) for d in deliveries] == [(Channel.SMS, True), (Channel.VOICE, True)]

    [sms] = receivers.twilio.messages
    assert (sms["To"], sms["From"]) == ("+15550100101", "+15550009999")
    assert sms["Body"].startswith("SEV2 payments: Checkout database unreachable")
    [url] = re.findall(rf"{re.escape(PUBLIC)}/a/\S+", sms["Body"])
    assert (link_claims(url).action, link_claims(url).responder) == ("acknowledge", "ana")
    [call] = receivers.twilio.calls
    assert call["To"] == "+15550100101"
    gathers = ElementTree.fromstring(call["Twiml"]).findall("Gather")
    assert len(gathers) == 2, "read twice, each time listening for a key"
    for gather in gathers:
        assert (gather.get("numDigits"), gather.get("method")) == ("1", "POST")
        said = gather.findtext("Say", "")
        assert said.startswith("This is an escalation page. Severity SEV2 incident")
        assert said.endswith("Press 4 to acknowledge, or 5 to escalate.")
    answer = gathers[0].get("action", "")
    assert answer.startswith(f"{PUBLIC}/v1/twilio/voice/")
    claims = read_link(answer.removeprefix(f"{PUBLIC}/v1/twilio/voice/"), LINK_SECRET)
    assert (claims.action, claims.responder, claims.triggered_at) == ("voice", "ana", TRIGGERED_AT)
    keys = {key for _, key in receivers.faults.requests}
    assert keys == {f"{STEP_KEY}/sms/ana", f"{STEP_KEY}/voice/ana"}


async def test_without_links_a_call_reads_the_page_twice_and_listens_for_nothing(
    receivers: Receivers, tmp_path: Path
) -> None:
    n = notifier(receivers.config_dir(tmp_path), links=False)
    [delivery] = await notify(n, request(["ana"], [Channel.VOICE]))
    assert delivery.delivered
    [call] = receivers.twilio.calls
    twiml = ElementTree.fromstring(call["Twiml"])
    assert [element.tag for element in twiml] == ["Say", "Pause", "Say"]
    assert twiml.findtext("Say", "").startswith("This is an escalation page.")


async def test_a_provider_refusal_is_not_retried_and_its_message_quoting_the_number_is_not_kept(
    receivers: Receivers, tmp_path: Path
) -> None:
    config = receivers.config_dir(tmp_path)
    roster = config / "roster.yaml"  # the fake provider, like Twilio's test numbers, accepts only +1555
    roster.write_text(roster.read_text().replace("+15550100101", "+442071838750"))
    n = notifier(config)
    [delivery] = await notify(n, request(["ana"], [Channel.SMS]))
    assert not delivery.delivered
    assert delivery.detail == "HTTP 400 Bad Request (refused after 1 attempt)"
    assert len(receivers.faults.requests) == 1


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("echo_not_found", "HTTP 404 Not Found (refused after 1 attempt)"),
        (
            "redirect_loop",
            "redirect loop (stopped after 10 redirects); check the URL (refused after 1 attempt)",
        ),
    ],
)
async def test_a_failure_quoting_the_secret_url_is_reported_without_it(
    receivers: Receivers, tmp_path: Path, fault: str, reason: str
) -> None:
    setattr(receivers.faults, fault, True)
    config = receivers.config_dir(tmp_path)
    n = notifier(config, receivers.slack_url_from_env(config))
    [delivery] = await notify(n, request(["ana"], [Channel.SLACK]))
    assert receivers.faults.requests[0][0] == SECRET_SLACK_PATH, "the secret URL was used"
    assert SLACK_TOKEN.lower() not in delivery.detail.lower()
    assert (delivery.delivered, delivery.detail) == (False, reason)


async def test_an_smtp_refusal_quoting_the_address_in_another_case_is_scrubbed(
    receivers: Receivers, tmp_path: Path
) -> None:
    relay, port = start_smtp(RecipientRefusingRelay())
    try:
        [delivery] = await notify(notifier(receivers.config_dir(tmp_path, email={"port": port})),
                                  request(["ana"], [Channel.EMAIL]))  # fmt: skip
    finally:
        relay.stop()
    assert not delivery.delivered and "SMTP server refused the recipient (550 5.1.1 <" in delivery.detail
    assert "ana@example.com" not in delivery.detail.lower() and REDACTED in delivery.detail


async def test_server_errors_are_retried_and_the_receiver_keeps_one_copy(
    receivers: Receivers, tmp_path: Path
) -> None:
    receivers.faults.process_then_fail = 2
    n = notifier(receivers.config_dir(tmp_path))
    [delivery] = await notify(n, request(["ana"], [Channel.WEBHOOK]))

    assert delivery.delivered and delivery.detail == "delivered on attempt 3"
    assert [key for _, key in receivers.faults.requests] == [f"{STEP_KEY}/webhook/ops-bridge"] * 3
    assert len(receivers.inbox.pages) == 1 and receivers.inbox.duplicates == 2


async def test_dead_endpoints_on_every_channel_are_given_up_in_a_few_attempts(
    receivers: Receivers, tmp_path: Path
) -> None:
    n = notifier(receivers.config_dir(tmp_path, dead=True))
    everything = [Channel.EMAIL, Channel.SMS, Channel.VOICE, Channel.SLACK, Channel.WEBHOOK]
    deliveries = await notify(n, request(["ana"], everything, within=timedelta(minutes=2)))

    assert [d.channel for d in deliveries] == everything
    for delivery in deliveries:
        assert not delivery.delivered
        assert "gave up after 4 attempts" in delivery.detail, delivery.detail
    assert "SMTP" in only(deliveries, Channel.EMAIL)[0].detail
    assert "could not connect to 127.0.0.1:" in only(deliveries, Channel.WEBHOOK)[0].detail


async def test_a_slow_receiver_is_cut_off_at_the_pages_bound(receivers: Receivers, tmp_path: Path) -> None:
    receivers.faults.delay_seconds = 60
    n = notifier(receivers.config_dir(tmp_path))
    deliveries = await notify(
        n, request(["ana"], [Channel.CONSOLE, Channel.WEBHOOK], within=timedelta(seconds=1))
    )
    console, webhook = deliveries
    assert console.delivered
    assert not webhook.delivered and "no answer within the page's time bound" in webhook.detail


async def test_a_retried_page_sends_only_what_the_failed_attempt_had_not_delivered(
    receivers: Receivers, tmp_path: Path
) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=2, heartbeat_details=[[f"{STEP_KEY}/email/ana"]])
    heartbeats: list[object] = []
    env.on_heartbeat = lambda *details: heartbeats.append(details[0])
    n = notifier(receivers.config_dir(tmp_path))
    email, webhook = await notify(n, request(["ana"], [Channel.EMAIL, Channel.WEBHOOK]), env)

    assert email.delivered and email.detail == "delivered by an earlier attempt of this page"
    assert webhook.delivered
    assert [page.channel for page in receivers.inbox.pages] == ["webhook"], "the e-mail is not sent twice"
    assert heartbeats == [], "a page done within a second costs no heartbeat round trip"


async def test_a_slow_page_heartbeats_what_it_has_delivered_so_far(
    receivers: Receivers, tmp_path: Path
) -> None:
    env = ActivityEnvironment()
    heartbeats: list[object] = []
    env.on_heartbeat = lambda *details: heartbeats.append(details[0])
    receivers.faults.delay_seconds = 2.5  # the webhook answers late; the e-mail is delivered at once
    n = notifier(receivers.config_dir(tmp_path))
    email, webhook = await notify(n, request(["ana"], [Channel.EMAIL, Channel.WEBHOOK]), env)
    assert email.delivered and webhook.delivered
    assert heartbeats and all(beat == [f"{STEP_KEY}/email/ana"] for beat in heartbeats), heartbeats
