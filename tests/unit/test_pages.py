"""Page content and the shipped templates; the webhook id and signature, checked as receivers check them."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

from standardwebhooks.webhooks import Webhook

from activities.action_links import LINK_ACTIONS, PageLinks
from activities.channels.webhook import webhook_id
from activities.pages import Page, PageTemplates, Recipient
from escalation.models import Severity
from escalation.replies import PagedStep
from escalation.reports import web_ui_url
from escalation.state import Phase
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


STEP = PagedStep(incident_id="incident:payments:db-down", triggered_at=datetime(2026, 11, 25, 3, tzinfo=UTC),
                round=1, tier_name="supervisor", phase=Phase.BACKUP)  # fmt: skip


def links_for(who: str) -> PageLinks:
    return PageLinks(**{action: f"https://escalations.example/a/{action}-{who}" for action in LINK_ACTIONS})


def slack_buttons(page: Page) -> list[dict[str, object]]:
    blocks = TEMPLATES.slack_message(page, mentions="")["blocks"]
    [actions] = [block for block in blocks if block["type"] == "actions"]
    return actions["elements"]


def test_a_slack_page_acts_from_its_buttons_and_resolves_through_the_recipients_link() -> None:
    one = page().model_copy(
        update={"step": STEP, "recipients": [Recipient(id="r0", name="R", links=links_for("r0"))]}
    )
    acknowledge, escalate, resolve, web_ui = slack_buttons(one)
    assert (acknowledge["action_id"], escalate["action_id"]) == (
        "escalation:acknowledge",
        "escalation:escalate",
    )
    assert (
        PagedStep.model_validate_json(acknowledge["value"])
        == STEP
        == PagedStep.model_validate_json(escalate["value"])
    )
    assert escalate["confirm"]["confirm"]["text"] == "Escalate"
    assert (resolve["text"]["text"], resolve["url"]) == (
        "Resolve",
        "https://escalations.example/a/resolve-r0",
    )
    assert "value" not in resolve and web_ui["url"] == "http://ui/x"

    without_links = page().model_copy(update={"step": STEP})
    assert [b["action_id"] for b in slack_buttons(without_links)] == [
        "escalation:acknowledge", "escalation:escalate", "escalation:web-ui"
    ]  # fmt: skip
    assert [b["action_id"] for b in slack_buttons(page())] == ["escalation:web-ui"], (
        "no step: nothing to act on"
    )


def test_a_room_message_offers_a_resolve_link_per_recipient_with_links_at_most_three() -> None:
    people = [Recipient(id=f"r{n}", name=f"Responder {n}", links=links_for(f"r{n}") if n != 1 else None)
              for n in range(6)]  # fmt: skip
    room = page(recipients=6).model_copy(update={"step": STEP, "recipients": people})
    resolves = [b for b in slack_buttons(room) if str(b["action_id"]).startswith("escalation:resolve:")]
    assert [(b["text"]["text"], b["url"]) for b in resolves] == [
        (f"Resolve as Responder {n}", f"https://escalations.example/a/resolve-r{n}") for n in (0, 2, 3)
    ]


def test_slack_button_values_and_labels_stay_within_slacks_limits() -> None:
    worst_key = '\\"' * 100  # 200 characters, each escaped in JSON
    longest = PagedStep(incident_id=f"incident:{'s' * 63}:{worst_key}", triggered_at=STEP.triggered_at,
                       round=99, tier_name="t" * 63, phase=Phase.BACKUP)  # fmt: skip
    named = [Recipient(id=f"r{n}", name="N" * 300, links=links_for("r")) for n in range(2)]
    long_page = page(recipients=2).model_copy(update={"step": longest, "recipients": named})
    buttons = slack_buttons(long_page)
    assert all(len(str(b.get("value", ""))) <= 2000 for b in buttons)
    assert PagedStep.model_validate_json(buttons[0]["value"]) == longest
    assert all(len(b["text"]["text"]) <= 75 for b in buttons)
    just_over = page(title="word " * 27 + "end")  # Jinja's truncate would let 5 characters over pass
    assert len(just_over.headline) == 153
    assert len(TEMPLATES.slack_message(just_over, mentions="")["blocks"][0]["text"]["text"]) <= 150
