"""The ladder with real channels: receivers on loopback, timeouts skipped by the test server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from escalation.config import Config, load_config
from escalation.state import EventKind, Status, StatusView, TimelineEvent
from starter.drill import skip_time
from tests.receivers import SECRET_SLACK_PATH, SLACK_TOKEN, TWILIO_ENV, TWILIO_TOKEN, Receivers
from tests.support import DEMO_WEBHOOK_SECRET, incident, readable_history, start_input
from tests.workflow.conftest import Ladder, running_ladder

LADDER = """
name: channels-test
version: 1
tiers:
  - {name: frontline, primary: [ana], backup: [ben], ack_timeout: 10m, channels: [email, webhook]}
  - {name: supervisor, primary: [sofia], ack_timeout: 10m, channels: [email, slack, sms]}
"""


ONE_TIER = """
name: channels-test
version: 1
tiers:
  - name: frontline
    primary: [ana]
    backup: [ben]
    ack_timeout: 10m
    channels: [email, sms, voice, slack, webhook]
"""
"""Ends ``exhausted`` after two steps, so no page is still running when the test ends."""


@asynccontextmanager
async def paging(env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path, policy: str = LADDER,
                 dead: bool = False) -> AsyncIterator[tuple[Ladder, Config]]:  # fmt: skip
    config = load_config(receivers.config_dir(tmp_path, policy=policy, dead=dead))
    async with running_ladder(env, config, tmp_path, {**os.environ, **TWILIO_ENV}) as ladder:
        yield ladder, config


async def start(ladder: Ladder, config: Config) -> WorkflowHandle:
    return await ladder.start(start_input(config.policies["channels-test"], incident()))


def events(view: StatusView, kind: EventKind) -> list[TimelineEvent]:
    return [e for e in view.timeline if e.kind is kind]


def has(kind: EventKind, count: int = 1) -> Callable[[StatusView], bool]:
    return lambda view: len(events(view, kind)) >= count


async def test_an_incident_climbing_the_tiers_pages_every_channel_of_each_step(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    async with paging(time_skipping_env, receivers, tmp_path) as (ladder, config):
        handle = await start(ladder, config)
        await ladder.until(handle, has(EventKind.NOTIFIED, 2))
        for pages in (4, 7):  # the backup, then the supervisor: three pages each
            await skip_time(time_skipping_env, timedelta(minutes=10))
            await ladder.until(
                handle, lambda v, n=pages: len(receivers.inbox.pages) + len(receivers.twilio.messages) >= n
            )
        view = await ladder.until(handle, has(EventKind.NOTIFIED, 7))

    caught = [(p.channel, p.content.get("to") or p.endpoint) for p in receivers.inbox.pages]
    assert sorted(caught) == sorted([
        ("email", "Ana Frontline <ana@example.com>"), ("webhook", "ops-bridge"),
        ("email", "Ben Frontline <ben@example.com>"), ("webhook", "ops-bridge"),
        ("email", "Sofia Supervisor <sofia@example.com>"), ("slack", "team-room"),
    ])  # fmt: skip
    assert [m["To"] for m in receivers.twilio.messages] == ["+15550100201"]
    notified = [
        (e.tier_name, e.phase.value, e.channel.value, e.targets) for e in events(view, EventKind.NOTIFIED)
    ]
    assert notified == [
        ("frontline", "primary", "email", ["ana"]), ("frontline", "primary", "webhook", ["ana"]),
        ("frontline", "backup", "email", ["ben"]), ("frontline", "backup", "webhook", ["ben"]),
        ("supervisor", "primary", "email", ["sofia"]), ("supervisor", "primary", "slack", ["sofia"]),
        ("supervisor", "primary", "sms", ["sofia"]),
    ]  # fmt: skip
    keys = {p.key for p in receivers.inbox.pages}
    assert len(keys) == 6 and all(k.startswith(f"{handle.id}/") for k in keys)


async def test_no_contact_detail_or_secret_enters_the_workflow_history(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    """Even when a provider's refusal quotes the number, as Twilio's do."""
    refused_number = "+15550100201"
    receivers_config = receivers.config_dir(tmp_path, policy=LADDER)
    roster = receivers_config / "roster.yaml"
    roster.write_text(roster.read_text().replace(refused_number, "+442071838750"))
    config = load_config(receivers_config)
    async with running_ladder(time_skipping_env, config, tmp_path, {**os.environ, **TWILIO_ENV}) as ladder:
        handle = await start(ladder, config)
        await skip_time(time_skipping_env, timedelta(minutes=20))
        view = await ladder.until(handle, has(EventKind.NOTIFY_FAILED))
        history = readable_history(await handle.fetch_history())

    [failed] = events(view, EventKind.NOTIFY_FAILED)
    assert failed.channel is not None and failed.channel.value == "sms"
    assert failed.note == "sofia: HTTP 400 Bad Request (refused after 1 attempt)"
    contacts = [
        str(v) for p in config.roster.responders.values() for v in (p.contact.email, p.contact.phone) if v
    ]
    secrets = [DEMO_WEBHOOK_SECRET, TWILIO_TOKEN, "+442071838750", "U0ANA0001"]
    assert "ana" in history and "Checkout database unreachable" in history, "the check reads a real history"
    leaked = [value for value in contacts + secrets if value in history]
    assert leaked == []


async def test_when_every_channel_is_dead_the_ladder_moves_on_at_once_and_says_why(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    async with paging(time_skipping_env, receivers, tmp_path, policy=ONE_TIER, dead=True) as (ladder, config):
        handle = await start(ladder, config)
        view = await ladder.until(handle, lambda v: v.status is Status.EXHAUSTED)

    [triggered] = events(view, EventKind.TRIGGERED)
    first, second = events(view, EventKind.ACK_TIMEOUT)
    assert first.note == second.note == "nobody on this step could be reached"
    assert events(view, EventKind.ESCALATED)[0].targets == ["ben"], "the backup is next"
    ack_timeout = config.policies["channels-test"].tiers[0].ack_timeout
    assert second.at - triggered.at < ack_timeout / 2, "neither step waited out its timeout"
    failed = [e for e in events(view, EventKind.NOTIFY_FAILED) if e.targets == ["ana"] and e.channel]
    assert {e.channel.value for e in failed if e.channel} == {"email", "sms", "voice", "slack", "webhook"}
    assert all(e.note.startswith("ana: ") and "gave up after 4 attempts" in e.note for e in failed)


async def test_a_receiver_slower_than_the_bound_does_not_stall_the_step(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    receivers.faults.delay_seconds = 60
    fast = ONE_TIER.replace("ack_timeout: 10m", "ack_timeout: 4s").replace(
        "[email, sms, voice, slack, webhook]", "[webhook]"
    )
    async with paging(time_skipping_env, receivers, tmp_path, policy=fast) as (ladder, config):
        handle = await start(ladder, config)
        view = await ladder.until(handle, lambda v: v.status is Status.EXHAUSTED)

    failed = events(view, EventKind.NOTIFY_FAILED)
    assert [e.targets for e in failed] == [["ana"], ["ben"]]
    assert all("no answer within the page's time bound" in e.note for e in failed)
    assert [e.note for e in events(view, EventKind.ACK_TIMEOUT)] == [
        "nobody on this step could be reached"
    ] * 2


async def test_a_receiver_failing_twice_gets_the_page_once(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    receivers.faults.process_then_fail = 2
    webhook_only = LADDER.replace("channels: [email, webhook]", "channels: [webhook]")
    async with paging(time_skipping_env, receivers, tmp_path, policy=webhook_only) as (ladder, config):
        handle = await start(ladder, config)
        view = await ladder.until(handle, has(EventKind.NOTIFIED))

    assert [(e.channel and e.channel.value, e.targets) for e in events(view, EventKind.NOTIFIED)] == [
        ("webhook", ["ana"])
    ]
    assert len(receivers.faults.requests) == 3 and len({key for _, key in receivers.faults.requests}) == 1
    assert len(receivers.inbox.pages) == 1 and receivers.inbox.duplicates == 2
    assert events(view, EventKind.NOTIFY_FAILED) == []


FAILURES_QUOTING_THE_URL = [
    ("echo_not_found", "HTTP 404 Not Found (refused after 1 attempt)"),
    ("redirect_loop", "redirect loop (stopped after 10 redirects); check the URL (refused after 1 attempt)"),
]


@pytest.mark.parametrize(("fault", "reason"), FAILURES_QUOTING_THE_URL)
async def test_a_failure_quoting_the_secret_slack_url_leaves_no_trace_of_it(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path,
    capfd: pytest.CaptureFixture[str], fault: str, reason: str,
) -> None:  # fmt: skip
    """A receiver's 404 body and aiohttp's redirect error both quote the URL, host lower-cased."""
    setattr(receivers.faults, fault, True)
    slack_only = ONE_TIER.replace("[email, sms, voice, slack, webhook]", "[slack]")
    directory = receivers.config_dir(tmp_path, policy=slack_only)
    worker_env = {**os.environ, **TWILIO_ENV, **receivers.slack_url_from_env(directory)}
    config = load_config(directory)
    async with running_ladder(time_skipping_env, config, tmp_path, worker_env) as ladder:
        handle = await start(ladder, config)
        view = await ladder.until(handle, lambda v: v.status is Status.EXHAUSTED)
        history = readable_history(await handle.fetch_history())
    worker_log = "".join(capfd.readouterr())

    assert receivers.faults.requests[0][0] == SECRET_SLACK_PATH, "the secret URL was used"
    assert "ben" in history and "delivered" in worker_log, "the checks read the real history and log"
    for where in (view.model_dump_json(), history, worker_log):
        assert SLACK_TOKEN.lower() not in where.lower()
    notes = [e.note for e in events(view, EventKind.NOTIFY_FAILED)]
    assert notes == [f"ana: {reason}", f"ben: {reason}"]
