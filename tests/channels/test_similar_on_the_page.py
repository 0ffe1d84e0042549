"""Similar past incidents on an escalation's first page: on every channel, escaped for each, and
never at the page's expense: a slow or broken record store costs it at most the look-up's bound."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta
from pathlib import Path

from structlog.testing import capture_logs
from temporalio.testing import ActivityEnvironment

from activities.knowledge import SIMILAR_SECONDS
from escalation.learning import SimilarIncident
from escalation.models import Channel, Incident, Severity
from escalation.state import NotifyResult
from starter.inbox import page_line
from tests.channels.test_deliveries import UI, notifier, request
from tests.receivers import Receivers

EVERY_CHANNEL = [Channel.EMAIL, Channel.SLACK, Channel.WEBHOOK, Channel.SMS, Channel.VOICE]
PAST = SimilarIncident(
    incident_id="incident:payments:pool",
    service="payments",
    severity=Severity.SEV1,
    title="Checkout <b>database</b> & pool",
    triggered_at=datetime(2026, 10, 1, 2, 0, tzinfo=UTC),
    resolved_by="ana",
    root_cause="Pool exhausted <!channel> <script>alert(1)</script>",
    prevention=["Alert on pool saturation"],
)
UNRESOLVED_CAUSE = SimilarIncident(
    incident_id="incident:payments:slow",
    service="payments",
    severity=Severity.SEV3,
    title="Payments API slow",
    triggered_at=datetime(2026, 9, 1, 2, 0, tzinfo=UTC),
)
PAST_LINK = f"{UI}/namespaces/default/workflows/incident%3Apayments%3Apool"


class Lookups:
    """A look-up that finds ``found`` and remembers what it was asked."""

    def __init__(self, found: list[SimilarIncident]) -> None:
        self.found = found
        self.asked: list[tuple[str, str, datetime]] = []

    async def __call__(
        self, incident: Incident, incident_id: str, triggered_at: datetime
    ) -> list[SimilarIncident]:
        self.asked.append((incident.title, incident_id, triggered_at))
        return self.found


async def hangs(incident: Incident, incident_id: str, triggered_at: datetime) -> list[SimilarIncident]:
    """A record store that never answers."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def page(receivers: Receivers, tmp_path: Path, lookup: object, **options: object) -> NotifyResult:
    paging = notifier(receivers.config_dir(tmp_path), similar=lookup)  # type: ignore[arg-type]
    result = await ActivityEnvironment().run(paging.notify, request(["ana"], **options))  # type: ignore[arg-type]
    assert [d.detail for d in result.deliveries if not d.delivered] == [], "the page went out"
    return result


async def test_the_first_page_carries_similar_incidents_on_every_channel_escaped_for_each(
    receivers: Receivers, tmp_path: Path
) -> None:
    lookups = Lookups([PAST, UNRESOLVED_CAUSE])
    result = await page(receivers, tmp_path, lookups, channels=EVERY_CHANNEL, first_page=True)

    assert len(lookups.asked) == 1, "one look-up for all the page's messages"
    assert [past.link for past in result.similar or []] == [
        PAST_LINK,
        f"{UI}/namespaces/default/workflows/incident%3Apayments%3Aslow",
    ]
    assert result.similar_problem == ""
    caught = {page.channel: page.content for page in receivers.inbox.pages}

    text = caught["email"]["text"].replace("\r\n", "\n")
    assert "Similar past incidents:\n- SEV1 payments: Checkout <b>database</b> & pool\n" in text
    assert "  Root cause: Pool exhausted <!channel> <script>alert(1)</script>\n" in text
    assert (
        f"  Prevention: Alert on pool saturation\n  {PAST_LINK}\n- SEV3 payments: Payments API slow" in text
    )

    html = caught["email"]["html"]
    assert f'<a href="{PAST_LINK}">SEV1 payments: Checkout &lt;b&gt;database&lt;/b&gt; &amp; pool</a>' in html
    assert "Root cause: Pool exhausted &lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html

    sections = [
        b["text"]["text"] for b in caught["slack"]["blocks"] if b["type"] == "section" and "text" in b
    ]
    [slack] = [section for section in sections if section.startswith(f"• <{PAST_LINK}|")]
    assert slack.startswith(f"• <{PAST_LINK}|SEV1 payments: Checkout &lt;b&gt;database&lt;/b&gt; &amp; pool>")
    assert "Root cause: Pool exhausted &lt;!channel&gt;" in slack, "no mention from past text either"
    assert "<!channel>" not in "".join(sections)

    assert caught["webhook"]["similar"] == [past.model_dump(mode="json") for past in result.similar or []]
    [hooked] = [page for page in receivers.inbox.pages if page.channel == "webhook"]
    assert page_line(hooked).splitlines()[1:] == [
        "  seen before: Checkout <b>database</b> & pool: Pool exhausted <!channel> <script>alert(1)</script>",
        "  seen before: Payments API slow",
    ], "escalate inbox shows them too"

    [sms], [call] = receivers.twilio.messages, receivers.twilio.calls
    assert (
        "Seen before: Checkout <b>database</b> & pool (2026-10-01 02:00:00 UTC): Pool exhausted"
        in sms["Body"]
    )
    spoken = ElementTree.fromstring(call["Twiml"]).findtext("Gather/Say", "")
    assert "Its root cause was: Pool exhausted <!channel> <script>alert(1)</script>." in spoken


async def test_later_pages_look_nothing_up(receivers: Receivers, tmp_path: Path) -> None:
    lookups = Lookups([PAST])
    result = await page(receivers, tmp_path, lookups, channels=[Channel.EMAIL])
    assert (lookups.asked, result.similar, result.similar_problem) == ([], None, "")
    [mail] = receivers.inbox.pages
    assert "Similar past incidents" not in mail.content["text"]


async def test_a_store_that_never_answers_costs_the_page_two_seconds(
    receivers: Receivers, tmp_path: Path
) -> None:
    started = time.monotonic()
    result = await page(
        receivers, tmp_path, hangs, channels=[Channel.EMAIL, Channel.WEBHOOK], first_page=True
    )
    took = time.monotonic() - started

    assert SIMILAR_SECONDS <= took < SIMILAR_SECONDS + 3, took
    assert (result.similar, result.similar_problem) == (None, "the record store did not answer within 2.0 s")
    assert sorted(page.channel for page in receivers.inbox.pages) == ["email", "webhook"]
    assert all("Similar past incidents" not in str(page.content) for page in receivers.inbox.pages)


async def test_a_short_page_bound_shortens_the_look_up_too(receivers: Receivers, tmp_path: Path) -> None:
    started = time.monotonic()
    result = await page(
        receivers, tmp_path, hangs, channels=[Channel.EMAIL], within=timedelta(seconds=2), first_page=True
    )
    assert time.monotonic() - started < 1.5, "a quarter of a 2 s page bound, not two seconds"
    assert result.similar_problem in {f"the record store did not answer within 0.{n} s" for n in (4, 5)}


async def test_a_broken_store_is_reported_without_its_secrets(receivers: Receivers, tmp_path: Path) -> None:
    async def broken(incident: Incident, incident_id: str, triggered_at: datetime) -> list[SimilarIncident]:
        raise ConnectionRefusedError("connecting to postgresql://escalation:hunter2@db.internal:5432/records")

    with capture_logs() as logs:
        result = await page(receivers, tmp_path, broken, channels=[Channel.EMAIL], first_page=True)

    assert (result.similar, result.similar_problem) == (
        None,
        "the record store failed (ConnectionRefusedError)",
    )
    [warning] = [log for log in logs if log["event"] == "page without similar incidents"]
    assert warning["detail"].startswith(
        "ConnectionRefusedError: connecting to postgresql://db.internal:5432/"
    )
    assert "hunter2" not in str(logs), "the operator sees what failed, never the password"
    assert len(receivers.inbox.pages) == 1
