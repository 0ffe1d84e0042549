"""The Web UI's current details: the incident report for runs without static details, and which
tier the last page belongs to when pages finish out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalation import ladder
from escalation.actions import EscalateRequest
from escalation.models import Channel
from escalation.reports import current_details, report_markdown
from escalation.state import Delivery, NotifyResult
from tests.support import start_input

T0 = datetime(2026, 11, 25, 3, 12, tzinfo=UTC)


def test_current_details_carry_the_incident_report_when_asked() -> None:
    start = start_input()
    view = ladder.view("incident-x", start, ladder.begin(start, T0))

    details = current_details(view, with_report=True)

    assert "**Incident:** SEV2 payments\\: Checkout database unreachable" in details, "escaped Markdown"
    assert f"**Report:**\n\n{report_markdown(start.incident)}" in details
    assert "Report" not in current_details(view), "the first run shows it as static details"


def test_a_page_finishing_after_the_ladder_moved_on_is_named_by_its_tier() -> None:
    start = start_input()
    state = ladder.begin(start, T0)
    frontline = state.step
    ladder.escalate_now(state, start.policy, EscalateRequest(responder="ana", reason="needs help"), T0)
    sofia = NotifyResult(deliveries=[Delivery(responder="sofia", channel=Channel.CONSOLE, delivered=True)])
    ladder.record_notified(state, start.policy, state.step, sofia, T0 + timedelta(seconds=1))
    ana = NotifyResult(deliveries=[Delivery(responder="ana", channel=Channel.EMAIL, delivered=True)])
    ladder.record_notified(state, start.policy, frontline, ana, T0 + timedelta(seconds=1))

    details = current_details(ladder.view("incident-x", start, state))

    assert (
        "**Last page, tier frontline (primary) (2026-11-25 03:12:01 UTC):**\n\n- reached ana via email"
    ) in details
    assert "sofia via console" not in details, "two pages finishing at once are not merged"
