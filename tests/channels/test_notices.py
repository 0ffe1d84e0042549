"""Notices against the real local receivers: each medium escapes incident text, and the review
link reaches its owner alone."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from temporalio.testing import ActivityEnvironment

from activities.action_links import ActionLinks, read_review_link
from activities.delivery import Deliverer
from activities.notices import Notices, closing_notice, notice_key
from escalation.config import load_config
from escalation.learning import NoticeKind
from escalation.models import Channel, Incident, Severity
from escalation.state import Delivery, EscalationRecord, NoticeRequest
from tests.channels.test_hostile_text import forget, incidents
from tests.notice_samples import closed_record, pending_review
from tests.receivers import TWILIO_ENV, Receivers

UI = "http://ui.test:8233"
PUBLIC = "https://escalations.test"
LINK_SECRET = "test-only-link-secret-of-at-least-32-bytes"
EVERY_CHANNEL = (Channel.EMAIL, Channel.SLACK, Channel.WEBHOOK, Channel.SMS, Channel.VOICE)
HOSTILE = Incident(
    title='<script>alert(1)</script> <!channel> *bold* "quoted" & <@U0EVIL>',
    service="payments",
    severity=Severity.SEV2,
    dedup_key="db <b>down</b>",
    summary="line one\n<img src=x onerror=alert(1)>",
    report={"reporter": "sam"},
)
HOSTILE_SUMMARY = "restarted <!here> the *primary* & <https://evil.example|click me>"


def notices(config_dir: Path, *, links: bool = True) -> Notices:
    minter = ActionLinks(LINK_SECRET, PUBLIC, timedelta(hours=24)) if links else None
    deliverer = Deliverer(load_config(config_dir), {**os.environ, **TWILIO_ENV})
    return Notices(deliverer, UI, "default", minter)


async def send(n: Notices, request: NoticeRequest, env: ActivityEnvironment | None = None) -> list[Delivery]:
    return (await (env or ActivityEnvironment()).run(n.send_notice, request)).deliveries


def owned_by_ana(hostile: Incident = HOSTILE, summary: str = HOSTILE_SUMMARY) -> EscalationRecord:
    """Ana was paged on every channel, Ben by e-mail; Ana resolved it and owns the pending review."""
    return closed_record(
        hostile,
        pages=[*(("ana", channel) for channel in EVERY_CHANNEL), ("ben", Channel.EMAIL)],
        resolved_by="ana",
        summary=summary,
        review=pending_review("ana", datetime.now(UTC) + timedelta(days=14)),
    )


def mrkdwn_texts(message: dict[str, object]) -> list[str]:
    """The parts of a Slack message that Slack reads as mrkdwn: the fallback text and mrkdwn objects."""
    found: list[str] = [str(message["text"])]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message["blocks"])
    return found


async def test_a_closing_notice_escapes_hostile_text_in_every_medium_and_links_the_owners_review(
    receivers: Receivers, tmp_path: Path
) -> None:
    record = owned_by_ana()
    n = notices(receivers.config_dir(tmp_path))
    deliveries = await send(n, closing_notice(record, n.roster))
    assert [(d.responder, d.channel, d.delivered) for d in deliveries] == [
        ("ana", Channel.EMAIL, True), ("ana", Channel.SLACK, True), ("ana", Channel.WEBHOOK, True),
        ("ana", Channel.SMS, True), ("ben", Channel.EMAIL, True), ("sam", Channel.CONSOLE, True),
    ], "a call becomes an SMS; the reporter sam, never paged, on his own rules"  # fmt: skip

    key = notice_key(record, NoticeKind.CLOSED)
    caught = {(page.channel, page.content.get("to") or page.endpoint): page for page in receivers.inbox.pages}
    ana, ben = (
        caught["email", "Ana Frontline <ana@example.com>"],
        caught["email", "Ben Frontline <ben@example.com>"],
    )
    assert (ana.key, ben.key) == (f"{key}/email/ana", f"{key}/email/ben")
    assert ana.content["subject"] == f"[SEV2] Resolved: payments: {HOSTILE.title} — by Ana Frontline"
    for mail in (ana, ben):
        assert HOSTILE.title in mail.content["text"] and HOSTILE_SUMMARY in mail.content["text"]
        html = mail.content["html"]
        assert (
            "<script>" not in html
            and "<img" not in html
            and "<!here>" not in html
            and "<@U0EVIL>" not in html
        )
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;!here&gt;" in html
        assert "Thank you for escalating" in mail.content["text"]

    [review_url] = re.findall(rf"^Review: ({re.escape(PUBLIC)}/r/\S+)\r?$", ana.content["text"], re.MULTILINE)
    claims = read_review_link(review_url.removeprefix(f"{PUBLIC}/r/"), LINK_SECRET)
    assert (claims.incident_id, claims.triggered_at, claims.responder) == (
        record.incident_id, record.triggered_at, "ana"
    )  # fmt: skip
    assert review_url in ana.content["html"]
    assert "/r/" not in ben.content["text"] + ben.content["html"], "the review link is its owner's alone"
    assert (
        "escalate review" not in ben.content["text"]
        and "Nothing more is needed from you." in ben.content["text"]
    )

    slack = caught["slack", "team-room"]
    assert unquote(slack.key) == f"{key}/slack/team-room", "from the Idempotency-Key header, percent-encoded"
    for text in mrkdwn_texts(slack.content):
        assert "<!" not in text and "<https" not in text and "<@U0EVIL>" not in text, text
    assert any("<@U0ANA0001>" in text for text in mrkdwn_texts(slack.content)), "only the mention is real"
    buttons = [
        b for block in slack.content["blocks"] if block["type"] == "actions" for b in block["elements"]
    ]
    assert [b["url"] for b in buttons if b["action_id"] == "escalation:review"] == [review_url]

    webhook = caught["webhook", "ops-bridge"]  # caught only with a valid signature
    document = webhook.content
    assert (document["type"], document["kind"], document["schema"]) == (
        "notice",
        "closed",
        "escalation.notice.v1",
    )
    assert document["idempotency_key"] == webhook.key == f"{key}/webhook/ops-bridge"
    assert document["incident"] == HOSTILE.model_dump(mode="json")
    assert (document["outcome"], document["closed_by"]) == ("resolved", "Ana Frontline")
    assert document["resolution"] == {
        "summary": HOSTILE_SUMMARY,
        "root_cause": "the primary's disk filled up",
    }
    assert document["review"]["url"] == review_url and document["recipients"] == [
        {"id": "ana", "name": "Ana Frontline"}
    ]
    assert "example.com" not in str(document) and "+1555" not in str(document)

    [sms] = receivers.twilio.messages
    assert sms["To"] == "+15550100101" and HOSTILE.title in sms["Body"] and review_url in sms["Body"]
    assert receivers.twilio.calls == [], "a notice never rings"


async def test_without_links_the_owner_gets_the_review_command(receivers: Receivers, tmp_path: Path) -> None:
    config = receivers.config_dir(tmp_path)
    record = owned_by_ana(summary="rolled back")
    key = notice_key(record, NoticeKind.REVIEW_REMINDER) + "/1"
    reminder = NoticeRequest(
        kind=NoticeKind.REVIEW_REMINDER, idempotency_key=key, record=record, recipients=["ana"]
    )
    await send(notices(config, links=False), reminder)
    mail = next(page for page in receivers.inbox.pages if page.channel == "email")
    assert mail.content["subject"].startswith("[SEV2] Review due by ")
    assert "/r/" not in mail.content["text"]
    assert "escalate review 'incident:payments:db <b>down</b>' --as ana" in mail.content["text"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile=incidents())
async def test_every_channel_sends_a_notice_for_any_incident_the_validators_accept(
    receivers: Receivers, tmp_path: Path, hostile: Incident
) -> None:
    forget(receivers)
    record = owned_by_ana(hostile, summary=hostile.summary or "fixed")
    deliveries = await send(notices(receivers.config_dir(tmp_path)), NoticeRequest(
        kind=NoticeKind.CLOSED, idempotency_key=notice_key(record, NoticeKind.CLOSED), record=record,
        recipients=["ana"],
    ))  # fmt: skip
    assert [(d.channel, d.delivered, d.detail) for d in deliveries] == [
        (c, True, "") for c in (Channel.EMAIL, Channel.SLACK, Channel.WEBHOOK, Channel.SMS)
    ]
    caught = {page.channel: page for page in receivers.inbox.pages}
    assert "".join(hostile.title.split()) in "".join(caught["email"].content["subject"].split())
    assert caught["webhook"].content["incident"] == hostile.model_dump(mode="json")
    assert all("<!" not in text for text in mrkdwn_texts(caught["slack"].content))
