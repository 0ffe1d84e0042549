"""Knowledge on the page, end to end with the real record store and real receivers: a resolved
incident's root cause and prevention reach the next similar incident's first page, an unrelated
one's do not, and with the store down or hung the page goes out on time without them."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.knowledge import SIMILAR_SECONDS
from activities.store import RecordStore
from escalation.config import load_config
from escalation.learning import Review, ReviewStatus, ReviewSubmission, Verdict
from escalation.models import EscalationPolicy, Incident
from escalation.reports import web_ui_url
from escalation.settings import DEFAULT_UI_URL
from escalation.state import EscalationRecord, EventKind
from starter.inbox import Caught
from tests.ports import free_port
from tests.receivers import TWILIO_ENV, Receivers, loopback_socket
from tests.support import incident, readable_history, start_input
from tests.workflow.conftest import Ladder, notified, running_ladder

POLICY = """
name: knowledge-test
version: 1
tiers:
  - {name: frontline, primary: [ana], ack_timeout: 10m, channels: [email, webhook]}
"""
POOL = incident(
    key="pool", title="Checkout database refuses connections", summary="Postgres primary: too many clients"
)
POOL_CAUSE = "Connection pool exhausted by the nightly batch job"
POOL_PREVENTION = "Cap the batch job at 20 connections"
UNRELATED = incident(key="cert", title="TLS certificate expired at the edge", summary="Browsers reject it")
UNRELATED_CAUSE = "The renewal job lost its DNS credentials"
NEXT = incident(
    key="pool-again", title="Checkout database connections refused", summary="too many clients again"
)
PASSWORD = "store-password-never-shown"
WORKER_ENV = {**os.environ, **TWILIO_ENV}


async def closed_out(ladder: Ladder, past: Incident, root_cause: str) -> EscalationRecord:
    """An escalation of ``past``, resolved with ``root_cause``, as the close-out stored it."""
    handle = await ladder.start(start_input(load_policy(ladder), past))
    await ladder.until(handle, lambda view: bool(notified(view)))
    resolution = {"responder": "ana", "summary": "fixed", "root_cause": root_cause}
    await ladder.api.act(handle.id, "resolve", resolution)
    for _ in range(200):
        if record := await asyncio.to_thread(ladder.store.latest, handle.id):
            return record
        await asyncio.sleep(0.05)
    raise AssertionError("the close-out never stored the record")


def load_policy(ladder: Ladder) -> EscalationPolicy:
    return ladder.api.config.policies["knowledge-test"]


def first_page(receivers: Receivers, handle: WorkflowHandle, channel: str) -> Caught:
    [page] = [p for p in receivers.inbox.pages if p.channel == channel and p.key.startswith(f"{handle.id}/")]
    return page


async def test_a_resolved_incidents_lessons_reach_the_next_similar_first_page(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> None:
    config = load_config(receivers.config_dir(tmp_path, policy=POLICY))
    async with running_ladder(time_skipping_env, config, tmp_path, WORKER_ENV) as ladder:
        pool = await closed_out(ladder, POOL, POOL_CAUSE)
        await closed_out(ladder, UNRELATED, UNRELATED_CAUSE)
        review = Review(
            status=ReviewStatus.COMPLETE,
            owner="ana",
            submission=ReviewSubmission(verdict=Verdict.NECESSARY, prevention=[POOL_PREVENTION]),
        )
        await asyncio.to_thread(ladder.store.set_review, pool.incident_id, pool.triggered_at, review)

        handle = await ladder.start(start_input(load_policy(ladder), NEXT))
        view = await ladder.until(handle, lambda v: v.similar is not None and bool(notified(v)))

    link = web_ui_url(DEFAULT_UI_URL, time_skipping_env.client.namespace, pool.incident_id)
    assert [
        (past.incident_id, past.root_cause, past.prevention, past.link) for past in view.similar or []
    ] == [(pool.incident_id, POOL_CAUSE, [POOL_PREVENTION], link)], "the similar one, not the unrelated one"

    mail = first_page(receivers, handle, "email").content["text"].replace("\r\n", "\n")
    assert f"- SEV2 payments: {POOL.title}\n" in mail
    assert f"  Root cause: {POOL_CAUSE}\n  Prevention: {POOL_PREVENTION}\n  {link}\n" in mail
    assert UNRELATED_CAUSE not in mail and UNRELATED.title not in mail
    [hooked] = first_page(receivers, handle, "webhook").content["similar"]
    assert (hooked["root_cause"], hooked["resolved_by"]) == (POOL_CAUSE, "ana")


@contextmanager
def silent_database() -> Iterator[str]:
    """A PostgreSQL URL whose server takes the connection and never answers (a hung database)."""
    with loopback_socket() as listener:
        listener.listen()
        host, port = listener.getsockname()
        yield f"postgresql+psycopg://escalation:{PASSWORD}@{host}:{port}/escalations"
    # Closing the listener resets the waiting connection: the look-up's thread ends too.


@contextmanager
def stopped_database() -> Iterator[str]:
    yield f"postgresql+psycopg://escalation:{PASSWORD}@127.0.0.1:{free_port()}/escalations"


@pytest.mark.parametrize(
    ("database", "problem"),
    [
        (silent_database, f"the record store did not answer within {SIMILAR_SECONDS:.1f} s"),
        (stopped_database, "the record store failed (StoreError)"),
    ],
    ids=["hung", "down"],
)
async def test_with_the_store_down_the_first_page_goes_out_on_time_without_them(
    time_skipping_env: WorkflowEnvironment,
    receivers: Receivers,
    tmp_path: Path,
    database: object,
    problem: str,
) -> None:
    config = load_config(receivers.config_dir(tmp_path, policy=POLICY))
    with database() as url:  # type: ignore[operator]
        async with running_ladder(
            time_skipping_env, config, tmp_path, WORKER_ENV, store=RecordStore(url)
        ) as ladder:
            started = time.monotonic()
            handle = await ladder.start(start_input(load_policy(ladder), NEXT))
            view = await ladder.until(handle, lambda v: bool(notified(v)))
            took = time.monotonic() - started
            history = readable_history(await handle.fetch_history())

    assert took < SIMILAR_SECONDS + 3, f"the page took {took:.1f} s"
    assert sorted(p.channel for p in receivers.inbox.pages) == ["email", "webhook"]
    assert "Similar past incidents" not in first_page(receivers, handle, "email").content["text"]
    [event] = [e for e in view.timeline if e.kind is EventKind.SIMILAR_UNAVAILABLE]
    assert event.note == f"similar past incidents could not be looked up: {problem}"
    assert view.similar is None
    assert PASSWORD not in history
