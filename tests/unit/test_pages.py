"""Page content and the shipped templates; the webhook id and signature, checked as receivers check them."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

from standardwebhooks.webhooks import Webhook

from activities.channels.webhook import webhook_id
from activities.pages import Page, PageTemplates, Recipient
from escalation.models import Severity
from escalation.reports import web_ui_url
from starter.inbox import verify
from tests.support import DEMO_WEBHOOK_SECRET, EXAMPLE_CONFIG, OTHER_WEBHOOK_SECRET, incident

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


def test_the_webhook_id_is_the_key_without_dots_and_unquote_gives_it_back() -> None:
    """The spec forbids a ``.`` in the id (the signed content is ``id.timestamp.body``)."""
    key = "incident:payments:db.down v2 \u00fc 100%/run-1/r0/t0/primary/p1/webhook/ops-bridge"
    msg_id = webhook_id(key)
    assert "." not in msg_id and msg_id.isascii() and msg_id.isprintable() and " " not in msg_id
    assert unquote(msg_id) == key
    assert webhook_id("incident:a:b/run-1") == "incident:a:b/run-1", "a plain key stays readable"


def test_receivers_refuse_tampered_unsigned_and_foreign_requests() -> None:
    body, msg_id, now = b'{"a":1}', "incident:a:b%2Erun", datetime.now(UTC)
    signer = Webhook(DEMO_WEBHOOK_SECRET)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(msg_id, now, body.decode()),
    }
    refused = "webhook-signature does not match the body with this endpoint's secret"
    assert verify(signer, headers, body) is None
    assert verify(signer, headers, b'{"a":2}') == refused
    assert verify(signer, headers | {"webhook-id": "incident:a:c"}, body) == refused
    assert verify(Webhook(OTHER_WEBHOOK_SECRET), headers, body) == refused
    assert verify(signer, {}, body) == (
        "missing webhook-id, webhook-timestamp, webhook-signature; "
        "sign requests by the Standard Webhooks specification"
    )


def test_slack_message_lists_the_incidents_links_only_when_there_are_some() -> None:
    def link_sections(links: list[str]) -> list[str]:
        linked = page().model_copy(update={"incident": incident(links=links)})
        blocks = TEMPLATES.slack_message(linked, mentions="")["blocks"]
        texts = [block.get("text", {}).get("text", "") for block in blocks if block["type"] == "section"]
        return [text for text in texts if text.startswith("*Links*")]

    assert link_sections([]) == []
    assert link_sections(["https://grafana.example.com/d/x"]) == ["*Links*\nhttps://grafana.example.com/d/x"]
