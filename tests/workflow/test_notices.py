"""When an escalation resolves or is cancelled, everyone it paged and its reporter hear how it ended;
the review's owner gets its link, and a day later its reminder."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.action_links import ActionLinks, read_review_link
from activities.close_out import CloseOut
from activities.delivery import Deliverer
from activities.notices import Notices, notice_key
from escalation.config import Config, load_config
from escalation.learning import NoticeKind
from escalation.models import Channel, Severity
from escalation.state import EscalationRecord, Status
from starter.drill import skip_time
from starter.inbox import Caught
from tests.notice_samples import closed_record
from tests.receivers import TWILIO_ENV, Receivers
from tests.support import incident, sqlite_store, start_input
from tests.workflow.conftest import notified, running_ladder
from tests.workflow.test_channel_ladder import LADDER

REPORTED = incident(report={"what_happened": "checkout errors", "reporter": "sam"})
PUBLIC = "https://escalations.test"
LINK_SECRET = "test-only-link-secret-of-at-least-32-bytes"
WORKER_ENV = {**os.environ, **TWILIO_ENV}


def configured(receivers: Receivers, tmp_path: Path, *, dead: bool = False) -> Config:
    """The receivers' configuration with the channels-test ladder, where the reporter sam reads e-mail."""
    config_dir = receivers.config_dir(tmp_path, policy=LADDER, dead=dead)
    roster = config_dir / "roster.yaml"
    roster.write_text(roster.read_text().replace("  sam:\n", "  sam:\n    channels: [email]\n"))
    return load_config(config_dir)


def notices(receivers: Receivers, record: EscalationRecord) -> dict[str, Caught]:
    """The closing notices the receivers got, by the message's key without the escalation's."""
    prefix = notice_key(record, NoticeKind.CLOSED) + "/"
    return {
        page.key.removeprefix(prefix): page for page in receivers.inbox.pages if page.key.startswith(prefix)
    }


def words(header: str) -> str:
    """A header as read: a long one comes folded, and unfolding may leave a double space."""
    return " ".join(header.split())


def review_link(text: str) -> str | None:
    found = re.search(rf"^Review: ({re.escape(PUBLIC)}/r/\S+)\r?$", text, re.MULTILINE)
    return found[1] if found else None


async def caught(receivers: Receivers, wanted: Callable[[Caught], bool]) -> Caught:
    """The first message the receivers got that is ``wanted``, waiting for the worker (bounded)."""
    for _ in range(200):
        if found := [page for page in receivers.inbox.pages if wanted(page)]:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"never caught; got: {[page.key for page in receivers.inbox.pages]}")


async def test_a_resolved_escalation_tells_everyone_it_paged_and_the_reporter_and_its_reviewer_more(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    config = configured(receivers, tmp_path)
    links = ActionLinks(LINK_SECRET, PUBLIC, timedelta(hours=24))
    async with running_ladder(time_skipping_env, config, tmp_path, WORKER_ENV, links) as ladder:
        handle = await ladder.start(start_input(config.policies["channels-test"], REPORTED))
        await ladder.until(handle, lambda v: notified(v) == [["ana"], ["ana"]])
        await skip_time(time_skipping_env, timedelta(minutes=10))  # nobody answers: the backup is paged
        await ladder.until(handle, lambda v: len(notified(v)) == 4)
        await ladder.api.act(
            handle.id, "resolve", {"responder": "ben", "summary": "failed over to the replica"}
        )
        record: EscalationRecord = await handle.result()
        sent = notices(receivers, record)
        await skip_time(time_skipping_env, timedelta(days=1, minutes=1))  # the review's first reminder
        reminder = await caught(receivers, lambda page: "reminder" in page.key and page.channel == "email")

    assert sorted(sent) == ["email/ana", "email/ben", "email/sam", "webhook/ops-bridge"]
    for who in ("ana", "ben", "sam"):
        mail = sent[f"email/{who}"].content
        assert (
            words(mail["subject"])
            == "[SEV2] Resolved: payments: Checkout database unreachable — by Ben Frontline"
        )
        assert (
            "Thank you for escalating" in mail["text"]
            and "Summary: failed over to the replica" in mail["text"]
        )
    document = sent["webhook/ops-bridge"].content
    assert [r["id"] for r in document["recipients"]] == ["ana", "ben"], "one message to the shared endpoint"
    assert (document["type"], document["outcome"], document["closed_by"]) == (
        "notice",
        "resolved",
        "Ben Frontline",
    )
    assert receivers.inbox.duplicates == 0

    link = review_link(sent["email/ben"].content["text"])
    assert link is not None, "ben resolved it, so the SEV2 review is his, with its link"
    claims = read_review_link(link.removeprefix(f"{PUBLIC}/r/"), LINK_SECRET)
    assert (claims.incident_id, claims.triggered_at, claims.responder) == (
        handle.id,
        record.triggered_at,
        "ben",
    )
    assert (
        review_link(sent["email/ana"].content["text"]) is None
        and review_link(sent["email/sam"].content["text"]) is None
    )
    assert document["review"] is not None and document["review"]["url"] == link, (
        "ben shares the team endpoint"
    )

    assert reminder.content["to"] == "Ben Frontline <ben@example.com>"
    assert words(reminder.content["subject"]).startswith("[SEV2] Review due by ")
    assert review_link(reminder.content["text"]) is not None and "Thank you" in reminder.content["text"]


async def test_a_cancelled_escalation_tells_whom_it_paged_so_far_and_the_reporter(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    config = configured(receivers, tmp_path)
    async with running_ladder(time_skipping_env, config, tmp_path, WORKER_ENV) as ladder:
        handle = await ladder.start(start_input(config.policies["channels-test"], REPORTED))
        await ladder.until(handle, lambda v: notified(v) == [["ana"], ["ana"]])
        await ladder.api.act(handle.id, "cancel", {"responder": "ana", "reason": "the alert was a test"})
        record: EscalationRecord = await handle.result()

    sent = notices(receivers, record)
    assert sorted(sent) == ["email/ana", "email/sam", "webhook/ops-bridge"], "ben was never paged"
    mail = sent["email/sam"].content
    assert (
        words(mail["subject"])
        == "[SEV2] Cancelled: payments: Checkout database unreachable — by Ana Frontline"
    )
    assert "false alarm" in mail["text"] and "Reason: the alert was a test" in mail["text"]
    assert sent["webhook/ops-bridge"].content["outcome"] == "cancelled"


async def test_a_retried_close_out_sends_the_same_keys_and_a_dead_channel_never_fails_it(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    """Run as Temporal runs it, twice (an attempt, then its retry); a SEV3 opens no review."""
    store = sqlite_store(tmp_path / "records.db")
    record = closed_record(pages=[("ana", Channel.EMAIL), ("ana", Channel.WEBHOOK), ("ben", Channel.WEBHOOK)],
                           severity=Severity.SEV3)  # fmt: skip

    def close_out(config: Config) -> Callable[..., object]:
        told = Notices(Deliverer(config, WORKER_ENV), "http://ui", "default")
        return CloseOut(store, config, time_skipping_env.client, "no-reviews", told).close_out

    live = close_out(configured(receivers, tmp_path))
    for _ in range(2):
        await ActivityEnvironment().run(live, record)
    key = notice_key(record, NoticeKind.CLOSED)
    assert sorted(page.key for page in receivers.inbox.pages) == [
        f"{key}/email/ana",
        f"{key}/webhook/ops-bridge",
    ]
    assert receivers.inbox.duplicates == 2, "the retry's copies carry the same keys, so receivers drop them"

    cancelled = record.model_copy(update={"outcome": Status.CANCELLED})
    await ActivityEnvironment().run(close_out(configured(receivers, tmp_path, dead=True)), cancelled)
    saved = store.latest(record.incident_id)
    assert saved is not None and saved.outcome is Status.CANCELLED, (
        "saved; the undeliverable notice is only logged"
    )
