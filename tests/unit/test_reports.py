"""How an escalation reads in the Web UI and the terminal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalation import ladder
from escalation.actions import AcknowledgeRequest, named
from escalation.models import Channel
from escalation.reports import current_details, headline, report_markdown, timeline_text
from escalation.state import Delivery, NotifyResult, Via
from tests.support import incident, policy, start_input

T0 = datetime(2026, 11, 25, 3, 12, tzinfo=UTC)


def test_headline_names_severity_service_and_title() -> None:
    assert headline(incident()) == "SEV2 payments: Checkout database unreachable"


def test_report_markdown_lists_only_the_filled_in_fields_in_reading_order() -> None:
    text = report_markdown(incident(links=["https://status.example.com/1"]))
    assert text.splitlines()[::2] == [
        "**Summary:** Primary Postgres refuses connections",
        "**What happened:** connection refused",
        "**Impact:** checkout failing",
        "**Ask:** restore the primary",
        "- <https://status.example.com/1>",
    ]
    assert "Where" not in text


def test_report_markdown_says_when_nothing_was_reported() -> None:
    bare = incident(summary="", report={})
    assert report_markdown(bare) == "_No report details were given._"


def test_current_details_while_paging_name_who_and_until_when() -> None:
    start = start_input()
    state = ladder.begin(start, T0)
    ladder.paging_until(state, T0 + timedelta(minutes=15))
    details = current_details(ladder.view("incident-x", start, state))
    assert "**Status:** triggered" in details
    assert "**Tier:** frontline (primary, round 1)" in details
    assert "**Paging:** ana" in details
    assert "**Next deadline:** 2026-11-25 03:27:00 UTC" in details


def test_current_details_of_an_exhausted_ladder_say_it_is_still_open() -> None:
    one_tier = policy(severities={}, tiers=[{"name": "frontline", "primary": ["ana"], "ack_timeout": "1m"}])
    start = start_input(one_tier)
    state = ladder.begin(start, T0)
    ladder.time_out(state, one_tier, T0 + timedelta(minutes=1))
    details = current_details(ladder.view("incident-x", start, state))
    assert "**Status:** exhausted" in details
    assert "anyone in the policy can still acknowledge" in details
    assert "Paging" not in details


def test_timeline_text_has_one_line_per_event_with_actor_and_note() -> None:
    start = start_input()
    state = ladder.begin(start, T0)
    ladder.acknowledge(state, start.policy, AcknowledgeRequest(responder="ana", note="on it"), T0)
    text = timeline_text(ladder.view("incident-x", start, state))
    assert text.splitlines()[0] == "incident-x  SEV2 payments: Checkout database unreachable"
    assert "acknowledged by ana" in text
    assert text.splitlines()[-1].startswith("2026-11-25 03:12:00 UTC  acknowledged")
    assert text.splitlines()[-1].endswith("by ana  - on it")


def test_a_page_on_several_channels_is_one_line_but_failures_keep_their_reasons() -> None:
    start = start_input()
    state = ladder.begin(start, T0)
    step = state.step
    result = NotifyResult(deliveries=[
        Delivery(responder="ana", channel=Channel.CONSOLE, delivered=True),
        Delivery(responder="ana", channel=Channel.EMAIL, delivered=True),
        Delivery(responder="ana", channel=Channel.SMS, delivered=False, detail="HTTP 400"),
        Delivery(responder="ana", channel=Channel.WEBHOOK, delivered=True),
    ])  # fmt: skip
    ladder.record_notified(state, start.policy, step, result, T0)
    lines = timeline_text(ladder.view("incident-x", start, state)).splitlines()[-3:]
    assert lines[0].endswith("notified         frontline  ana  via console, email")
    assert lines[1].endswith("notify_failed    frontline  ana  via sms  - ana: HTTP 400")
    assert lines[2].endswith("notified         frontline  ana  via webhook")


def test_current_details_show_who_the_last_page_reached_and_why_not_the_rest() -> None:
    start = start_input()
    state = ladder.begin(start, T0)
    first = NotifyResult(deliveries=[Delivery(responder="ana", channel=Channel.CONSOLE, delivered=True)])
    ladder.record_notified(state, start.policy, state.step, first, T0)
    ladder.time_out(state, start.policy, T0 + timedelta(minutes=15))
    later = T0 + timedelta(minutes=16)
    second = NotifyResult(deliveries=[
        Delivery(responder="ben", channel=Channel.EMAIL, delivered=True),
        Delivery(responder="ben", channel=Channel.SMS, delivered=False, detail="HTTP 400 Bad Request"),
    ])  # fmt: skip
    ladder.record_notified(state, start.policy, state.step, second, later)
    details = current_details(ladder.view("incident-x", start, state))
    assert (
        "**Last page, tier frontline (backup) (2026-11-25 03:28:00 UTC):**\n\n- reached ben via email\n"
        "- not reached via sms: ben: HTTP 400 Bad Request"
    ) in details
    assert "ana" not in details.split("**Last page")[1]


def test_an_action_answered_from_the_page_says_how_it_arrived() -> None:
    start = start_input()
    state = ladder.begin(start, T0)
    request = AcknowledgeRequest(responder="ana", via=Via.LINK)
    named("acknowledge").perform(state, start.policy, request, T0 + timedelta(minutes=2))
    view = ladder.view("incident-x", start, state)
    assert "**Acknowledged by:** ana via link at 2026-11-25 03:14:00 UTC" in current_details(view)
    assert "acknowledged by ana via link" in timeline_text(view)
    assert "by ana via link" in timeline_text(view).splitlines()[-1]

    by_cli = ladder.begin(start, T0)
    named("acknowledge").perform(by_cli, start.policy, AcknowledgeRequest(responder="ana"), T0)
    assert "via" not in current_details(ladder.view("incident-x", start, by_cli))
