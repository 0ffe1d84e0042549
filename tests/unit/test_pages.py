"""Page content and the shipped templates; the webhook signature, checked the way receivers check it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from activities.channels.webhook import sign
from activities.pages import Page, PageTemplates, Recipient
from escalation.models import Severity
from escalation.reports import web_ui_url
from starter.inbox import verify
from tests.support import EXAMPLE_CONFIG, incident

TEMPLATES = PageTemplates(EXAMPLE_CONFIG / "templates")


def page(title: str = "Checkout database unreachable", recipients: int = 1, key: str = "db-down") -> Page:
    return Page.build(
        incident_id=f"incident:payments:{key}", incident=incident(title=title), severity=Severity.SEV1,
        tier="supervisor", phase="backup", round=2, deadline=datetime(2026, 11, 25, 3, 15, tzinfo=UTC),
        recipients=[Recipient(id=f"r{n}", name=f"Responder {n}") for n in range(recipients)],
        web_ui_url="http://ui/x", idempotency_key="k",
    )  # fmt: skip


def test_commands_name_the_single_recipient_and_quote_the_incident_id() -> None:
    assert page().acknowledge_command == "escalate ack incident:payments:db-down --as r0"
    assert page(recipients=2).acknowledge_command == "escalate ack incident:payments:db-down --as YOUR-ID"
    odd = page(key="disk full; rm -rf")
    assert odd.acknowledge_command == "escalate ack 'incident:payments:disk full; rm -rf' --as r0"


def test_web_ui_link_escapes_the_incident_id() -> None:
    assert web_ui_url("http://ui:8233/", "prod ns", "incident:a:b/c") == (
        "http://ui:8233/namespaces/prod%20ns/workflows/incident%3Aa%3Ab%2Fc"
    )


def test_html_is_escaped_but_plain_text_is_not() -> None:
    hostile = page(title="<script>alert(1)</script> & more")
    assert "&lt;script&gt;" in TEMPLATES.render("html", hostile) and "<script>" not in TEMPLATES.render(
        "html", hostile
    )
    assert "<script>alert(1)</script> & more" in TEMPLATES.render("text", hostile)


def test_slack_template_stays_valid_json_whatever_the_text() -> None:
    tricky = page(title='quote " backslash \\ newline \n done')
    message = TEMPLATES.slack_message(tricky, mentions="<@U1>")
    assert message["blocks"][0]["text"]["text"] == 'SEV1 payments: quote " backslash \\ newline done'


def test_sms_stays_short_and_says_how_to_acknowledge() -> None:
    text = TEMPLATES.render("sms", page())
    assert len(text) < 320 and "escalate ack incident:payments:db-down --as r0" in text


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"schema":"escalation.page.v1"}'
    expected = hmac.new(b"s3cret", b"1764040000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", "1764040000", body) == f"sha256={expected}"


def test_receivers_refuse_tampered_unsigned_and_replayed_requests() -> None:
    body, now = b'{"a":1}', 1764040000.0
    headers = {
        "X-Escalation-Timestamp": "1764040000",
        "X-Escalation-Signature": sign("s", "1764040000", body),
    }
    assert verify("s", headers, body, now) is None
    assert verify("s", headers, b'{"a":2}', now) == "signature does not match"
    assert verify("other", headers, body, now) == "signature does not match"
    assert verify("s", {}, body, now) == "missing X-Escalation-Timestamp or X-Escalation-Signature"
    assert verify("s", headers, body, now + 301) == "timestamp is too old: a replayed request"


def test_slack_message_lists_the_incidents_links_only_when_there_are_some() -> None:
    def link_sections(links: list[str]) -> list[str]:
        linked = page().model_copy(update={"incident": incident(links=links)})
        blocks = TEMPLATES.slack_message(linked, mentions="")["blocks"]
        texts = [block.get("text", {}).get("text", "") for block in blocks if block["type"] == "section"]
        return [text for text in texts if text.startswith("*Links*")]

    assert link_sections([]) == []
    assert link_sections(["https://grafana.example.com/d/x"]) == ["*Links*\nhttps://grafana.example.com/d/x"]
