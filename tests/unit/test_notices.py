"""Who hears how an escalation ended, on which channels, and how the shipped notices word it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from activities.channels.webhook import notice_document
from activities.notices import closing_notice, notice_channels, notice_key
from activities.pages import Notice, PageTemplates, Recipient
from escalation.config import load_config
from escalation.learning import NoticeKind, Review, ReviewStatus
from escalation.models import Channel, Incident
from escalation.state import Status
from starter.inbox import Caught, page_line
from tests.notice_samples import REVIEW_DUE, closed_record, pending_review
from tests.support import EXAMPLE_CONFIG, incident

TEMPLATES = PageTemplates(EXAMPLE_CONFIG / "templates")
ROSTER = load_config(EXAMPLE_CONFIG).roster
PAGES = (("ana", Channel.EMAIL), ("ana", Channel.WEBHOOK), ("ben", Channel.EMAIL), ("sofia", Channel.SMS))


def reported_by(reporter: str) -> Incident:
    return incident(report={"what_happened": "connection refused", "reporter": reporter})


def test_the_closing_notice_goes_to_everyone_the_pages_reached_each_once_and_the_reporter() -> None:
    record = closed_record(reported_by("sam"), pages=PAGES, failed=[("dba-kim", Channel.SMS)])
    request = closing_notice(record, ROSTER)
    assert request.kind is NoticeKind.CLOSED
    assert request.recipients == ["ana", "ben", "sofia", "sam"], "a page that reached nobody is not a page"
    assert request.idempotency_key == "incident:payments:db-down/20261125T030000000000Z/closed"


@pytest.mark.parametrize("reporter", ["", "Sam Supervisor", "someone from support", "ana"])
def test_a_reporter_who_is_not_a_roster_responder_is_not_told_and_nobody_is_told_twice(reporter: str) -> None:
    record = closed_record(reported_by(reporter), pages=PAGES)
    assert closing_notice(record, ROSTER).recipients == ["ana", "ben", "sofia"]


def test_the_owner_of_a_pending_review_is_told_even_if_no_page_reached_them() -> None:
    owned = closed_record(pages=PAGES, resolved_by="dba-kim", review=pending_review("dba-kim"))
    assert closing_notice(owned, ROSTER).recipients == ["ana", "ben", "sofia", "dba-kim"]
    done = Review(status=ReviewStatus.NOT_REQUIRED)
    assert closing_notice(owned.model_copy(update={"review": done}), ROSTER).recipients == [
        "ana",
        "ben",
        "sofia",
    ]


def test_a_notice_follows_the_pages_channels_and_never_rings() -> None:
    paged = (("ana", Channel.VOICE), ("ana", Channel.SMS), ("ana", Channel.SLACK), ("ben", Channel.VOICE))
    record = closed_record(pages=paged)
    assert notice_channels(record, ROSTER, "ana") == [Channel.SMS, Channel.SLACK]
    assert notice_channels(record, ROSTER, "ben") == [Channel.SMS], "a call becomes a text message"
    assert notice_channels(record, ROSTER, "sam") == [Channel.CONSOLE], "not paged: their own rules"


def test_the_key_names_the_escalation_so_a_later_one_with_the_same_incident_id_gets_its_own() -> None:
    record = closed_record()
    later = record.model_copy(update={"triggered_at": record.triggered_at + timedelta(hours=1)})
    assert notice_key(record, NoticeKind.CLOSED) == notice_key(record.model_copy(), NoticeKind.CLOSED)
    assert notice_key(later, NoticeKind.CLOSED) != notice_key(record, NoticeKind.CLOSED)
    assert notice_key(record, NoticeKind.REVIEW_REMINDER).endswith("/review_reminder")


def notice(kind: NoticeKind, outcome: Status, *, owner: bool) -> Notice:
    record = closed_record(outcome=outcome, review=pending_review("ben"))
    ben = Recipient(
        id="ben", name="Ben Frontline", review_url="https://escalations.test/r/token" if owner else None
    )
    return Notice.build(
        kind=kind, record=record, recipients=[ben], closed_by="Ben Frontline", web_ui_url="http://ui/x",
        idempotency_key="k", review_owner=ben if owner else None,
    )  # fmt: skip


def every_medium(n: Notice) -> dict[str, str]:
    rendered = {role: TEMPLATES.render(role, n) for role in ("subject", "text", "html", "sms")}
    rendered["slack"] = "\n".join(texts(TEMPLATES.slack_message(n, mentions="<@U0BEN>")))
    return rendered


def texts(node: object) -> list[str]:
    """Every text and URL of a Slack message, as its reader sees them."""
    if isinstance(node, dict):
        return [*(v for k, v in node.items() if k in ("text", "url") and isinstance(v, str)),
                *(t for v in node.values() for t in texts(v))]  # fmt: skip
    return [t for v in node for t in texts(v)] if isinstance(node, list) else []


BLAME = re.compile(
    r"\b(fail(ed|ure)?|miss(ed|ing)?|did ?n[o']t|no (one|body) (answer|respond)|unanswered|ignor\w*"
    r"|respon(d|se|ded)|should have|fault|blame\w*|too late|late|slow|negligen\w*)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("outcome", [Status.RESOLVED, Status.CANCELLED])
@pytest.mark.parametrize("owner", [True, False])
def test_the_closing_notice_thanks_everyone_for_escalating_and_blames_nobody(
    outcome: Status, owner: bool
) -> None:
    rendered = every_medium(notice(NoticeKind.CLOSED, outcome, owner=owner))
    for medium, text in rendered.items():
        words = text.replace("failed over to the replica", "")  # the responder's own summary
        assert not BLAME.search(words), (medium, BLAME.search(words))
        if medium != "subject":
            assert "thank you for escalating" in text.lower(), medium
    assert "always the right call" in rendered["text"], "escalating by the rules is never wrong"
    assert (
        f"{outcome.value.capitalize()}: payments: Checkout database unreachable — by Ben Frontline"
        in (rendered["subject"])
    )
    if outcome is Status.CANCELLED:
        assert "false alarm" in rendered["text"] and "Reason: failed over to the replica" in rendered["text"]
    else:
        assert "Root cause: the primary's disk filled up" in rendered["text"]
    assert ("Nothing more is needed from you." in rendered["text"]) is not owner


def test_the_review_reminder_asks_the_owner_kindly_with_the_window_and_the_link() -> None:
    rendered = every_medium(notice(NoticeKind.REVIEW_REMINDER, Status.RESOLVED, owner=True))
    due = "2026-12-09 03:25:00 UTC"
    assert REVIEW_DUE.strftime("%Y-%m-%d %H:%M:%S UTC") == due
    assert rendered["subject"] == f"[SEV2] Review due by {due}: payments: Checkout database unreachable"
    for medium, text in rendered.items():
        assert not BLAME.search(text.replace("failed over to the replica", "")), medium
        assert due in text, medium
        if medium not in ("subject", "sms"):
            assert "thank you" in text.lower() and "never wrong" in text, medium
    for medium in ("text", "html", "sms"):
        assert "https://escalations.test/r/token" in rendered[medium], medium
    assert "escalate review incident:payments:db-down --as ben" in rendered["text"]


def test_only_the_owners_message_carries_the_review() -> None:
    for medium, text in every_medium(notice(NoticeKind.CLOSED, Status.RESOLVED, owner=False)).items():
        assert "escalate review" not in text and "/r/" not in text, medium


def test_the_inbox_prints_a_notice_and_the_review_link_under_its_email() -> None:
    owned = notice(NoticeKind.CLOSED, Status.RESOLVED, owner=True)
    hook = Caught("webhook", "ops-bridge", "k", notice_document(owned, "k"))
    assert page_line(hook) == (
        "webhook ops-bridge (signature ok): closed notice: SEV2 Checkout database unreachable resolved "
        "by Ben Frontline -> ben"
    )
    text = TEMPLATES.render("text", owned).replace("\n", "\r\n")  # as e-mail carries it
    mail = Caught("email", "smtp", "k", {"to": "Ben <ben@example.com>", "subject": "Resolved", "text": text})
    assert page_line(mail).splitlines()[1:] == ["  review: https://escalations.test/r/token"]
