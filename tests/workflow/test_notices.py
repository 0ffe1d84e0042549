"""When an escalation resolves or is cancelled, everyone it paged and its reporter hear how it ended."""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.notices import notice_key
from escalation.config import load_config
from escalation.learning import NoticeKind
from escalation.state import EscalationRecord
from starter.inbox import Caught
from tests.receivers import TWILIO_ENV, Receivers
from tests.support import incident, start_input
from tests.workflow.conftest import notified, running_ladder
from tests.workflow.test_channel_ladder import LADDER

REPORTED = incident(report={"what_happened": "checkout errors", "reporter": "sam"})


def configured(receivers: Receivers, tmp_path: Path) -> Path:
    """The receivers' configuration with the channels-test ladder, where the reporter sam reads e-mail."""
    config_dir = receivers.config_dir(tmp_path, policy=LADDER)
    roster = config_dir / "roster.yaml"
    roster.write_text(roster.read_text().replace("  sam:\n", "  sam:\n    channels: [email]\n"))
    return config_dir


def notices(receivers: Receivers, record: EscalationRecord) -> dict[str, Caught]:
    """The closing notices the receivers got, by the message's key without the escalation's."""
    prefix = notice_key(record, NoticeKind.CLOSED) + "/"
    return {
        page.key.removeprefix(prefix): page for page in receivers.inbox.pages if page.key.startswith(prefix)
    }


def words(header: str) -> str:
    """A header as read: a long one comes folded, and unfolding may leave a double space."""
    return " ".join(header.split())


async def test_a_resolved_escalation_tells_everyone_it_paged_and_the_reporter(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    config = load_config(configured(receivers, tmp_path))
    async with running_ladder(time_skipping_env, config, tmp_path, {**os.environ, **TWILIO_ENV}) as ladder:
        handle = await ladder.start(start_input(config.policies["channels-test"], REPORTED))
        await ladder.until(handle, lambda v: notified(v) == [["ana"], ["ana"]])
        await time_skipping_env.sleep(10 * 60)  # nobody answers: the backup is paged
        await ladder.until(handle, lambda v: len(notified(v)) == 4)
        await ladder.api.act(
            handle.id, "resolve", {"responder": "ben", "summary": "failed over to the replica"}
        )
        record: EscalationRecord = await handle.result()

    sent = notices(receivers, record)
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


async def test_a_cancelled_escalation_tells_whom_it_paged_so_far_and_the_reporter(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    config = load_config(configured(receivers, tmp_path))
    async with running_ladder(time_skipping_env, config, tmp_path, {**os.environ, **TWILIO_ENV}) as ladder:
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
