"""Whatever text an incident the validators accept carries, every channel still pages."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls
from pydantic import ValidationError

from activities.notify import Notifier
from escalation.models import Channel, Incident, Severity
from escalation.replies import PagedStep
from escalation.state import NotifyRequest, Phase
from escalation.text import xml_chars
from tests.channels.test_deliveries import notifier, notify
from tests.receivers import Receivers

EVERY_CHANNEL = [Channel.EMAIL, Channel.SLACK, Channel.WEBHOOK, Channel.SMS, Channel.VOICE]
REPORT_FIELDS = ("what_happened", "where", "impact", "actions_taken", "ask", "reporter")


@st.composite
def incidents(draw: st.DrawFn) -> Incident:
    text = st.text(max_size=120)
    data = {
        "title": draw(st.text(min_size=1, max_size=120).filter(str.strip)),
        "service": "payments",
        "severity": Severity.SEV2,
        "dedup_key": draw(st.text(min_size=1, max_size=80)),
        "summary": draw(text),
        "source": draw(text),
        "report": {field: draw(text) for field in REPORT_FIELDS},
        "links": draw(st.lists(urls().filter(lambda url: len(url) < 300), max_size=2)),
    }
    try:
        return Incident.model_validate(data)
    except ValidationError:  # e.g. a dedup key with a line break: refused, so nothing to page
        reject()


def request(hostile: Incident) -> NotifyRequest:
    incident_id = f"incident:payments:{hostile.dedup_key}"
    return NotifyRequest(
        incident_id=incident_id, idempotency_key=f"{incident_id}/run-1/r0/t0/primary/p1", incident=hostile,
        severity=Severity.SEV2, tier_name="frontline", phase=Phase.PRIMARY, targets=["ana"],
        channels=EVERY_CHANNEL, deadline=datetime(2026, 11, 25, 3, 15, tzinfo=UTC),
        deliver_within=timedelta(seconds=30), triggered_at=datetime(2026, 11, 25, 3, tzinfo=UTC),
    )  # fmt: skip


@pytest.fixture
def paging(receivers: Receivers, tmp_path: object) -> Notifier:
    return notifier(receivers.config_dir(tmp_path))  # type: ignore[arg-type]


def forget(receivers: Receivers) -> None:
    """Clear what the receivers kept, so each example sees only its own pages."""
    receivers.inbox.pages.clear()
    receivers.twilio.messages.clear()
    receivers.twilio.calls.clear()
    receivers.faults.requests.clear()
    receivers.faults.raw.clear()


def squeezed(text: str) -> str:
    return "".join(text.split())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile=incidents())
async def test_every_channel_pages_for_any_incident_the_validators_accept(
    receivers: Receivers, paging: Notifier, hostile: Incident
) -> None:
    forget(receivers)
    req = request(hostile)
    deliveries = await notify(paging, req)
    assert [(d.channel, d.delivered, d.detail) for d in deliveries] == [(c, True, "") for c in EVERY_CHANNEL]

    key = req.idempotency_key
    caught = {page.channel: page for page in receivers.inbox.pages}
    assert caught["email"].key == f"{key}/email/ana", "the inbox decodes the e-mail's key header"
    assert squeezed(hostile.title) in squeezed(caught["email"].content["subject"])
    for line in hostile.summary.splitlines():
        assert line.strip() in caught["email"].content["text"]
    webhook = caught["webhook"]
    assert webhook.content["idempotency_key"] == webhook.key == f"{key}/webhook/ops-bridge", "from webhook-id"
    assert webhook.content["incident"] == hostile.model_dump(mode="json")
    assert "<" not in caught["slack"].content["text"], "incident text makes no Slack mentions or links"
    [actions] = [block for block in caught["slack"].content["blocks"] if block["type"] == "actions"]
    assert PagedStep.model_validate_json(actions["elements"][0]["value"]) == PagedStep.of(req), (
        "the buttons name the escalation, whatever its dedup key"
    )
    header_keys = {unquote(header) for _, header in receivers.faults.requests}
    assert header_keys == {f"{key}/{channel.value}/{destination}" for channel, destination in
                           [(Channel.SLACK, "team-room"), (Channel.WEBHOOK, "ops-bridge"),
                            (Channel.SMS, "ana"), (Channel.VOICE, "ana")]}  # fmt: skip
    [sms], [call] = receivers.twilio.messages, receivers.twilio.calls
    assert hostile.title in sms["Body"]
    twiml = ElementTree.fromstring(call["Twiml"])
    assert [element.tag for element in twiml] == ["Gather", "Gather"], "the call listens for a key"
    assert squeezed(xml_chars(hostile.title)) in squeezed(twiml.findtext("Gather/Say", ""))


@pytest.mark.parametrize("separator", ["\n", "\u2028", "\x0b", "\x0c"])
async def test_a_title_with_line_breaks_still_pages_by_email_and_voice(
    receivers: Receivers, paging: Notifier, separator: str
) -> None:
    hostile = Incident(title=f"Disk full{separator}on db-1", service="payments", severity=Severity.SEV2,
                       dedup_key="disk", summary="line one\nline two")  # fmt: skip
    deliveries = await notify(paging, request(hostile))
    assert all(d.delivered for d in deliveries), [d.detail for d in deliveries]
    mail = next(page for page in receivers.inbox.pages if page.channel == "email")
    assert mail.content["subject"].startswith("[SEV2] payments: Disk full on db-1 — acknowledge by")
    assert "Summary: line one\nline two" in mail.content["text"].replace("\r\n", "\n"), (
        "still a multi-line body"
    )
    [call] = receivers.twilio.calls
    assert "Disk full on db-1" in ElementTree.fromstring(call["Twiml"]).findtext("Gather/Say", "")
