"""Record the histories the replay tests check, from the current workflow code.

    python -m tests.replay.capture [SCENARIO ...]

Run it only when a history from a new code path is wanted; histories already saved must
keep replaying after every change to the workflow (guard changes with workflow.patched).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio import activity
from temporalio.client import Client, WorkflowContinuedAsNewError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.close_out import CloseOut
from activities.reviews import ReviewRecords
from escalation.actions import AcknowledgeRequest, EscalateRequest, NoteRequest, ResolveRequest
from escalation.config import load_config
from escalation.learning import ReviewSubmission, Verdict, review_workflow_id
from escalation.models import Channel, Severity
from escalation.replies import Assignment, PagedIncident, ReplyCodesInput, reply_codes_id
from escalation.reviews import ReviewSubmissionRequest, opening
from escalation.settings import Settings
from escalation.state import (
    NOTICE_ACTIVITY,
    NOTIFY_ACTIVITY,
    Delivery,
    EscalationRecord,
    EventKind,
    NoticeRequest,
    NotifyRequest,
    NotifyResult,
    Phase,
    Resolution,
    Status,
)
from starter.api import Escalations
from starter.connection import ensure_search_attributes
from tests.support import EXAMPLE_CONFIG, binary, incident, policy, sqlite_store, start_input
from worker import build_worker
from workflows.escalation import EscalationWorkflow
from workflows.reply_codes import ReplyCodesWorkflow
from workflows.review import ReviewWorkflow

HISTORIES = Path(__file__).parent / "histories"
QUEUE = "replay-capture"


async def _climb_exhaust_ack_resolve(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    handle = await client.start_workflow(EscalationWorkflow.run, start_input(policy(repeat=1)),
                                         id="incident-replay-climb", task_queue=QUEUE)  # fmt: skip
    await env.sleep(timedelta(hours=4))
    await handle.execute_update("acknowledge", AcknowledgeRequest(responder="sam"))
    await handle.execute_update("resolve", ResolveRequest(responder="sam", summary="done"))
    return handle


async def _resolve_deadline_then_signals(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    handle = await client.start_workflow(EscalationWorkflow.run, start_input(policy(resolve_deadline="1h")),
                                         id="incident-replay-deadline", task_queue=QUEUE)  # fmt: skip
    await handle.execute_update("acknowledge", AcknowledgeRequest(responder="ana"))
    await env.sleep(timedelta(minutes=70))
    await handle.signal("acknowledge", AcknowledgeRequest(responder="sofia"))
    await handle.signal("resolve", ResolveRequest(responder="sofia", summary="ok"))
    return handle


async def _every_operation_then_cancel(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    config = load_config(EXAMPLE_CONFIG)
    api = Escalations(client, Settings(task_queue=QUEUE), config)
    opened = await api.trigger(incident(key="replay-ops"), policy="support")
    await api.trigger(incident(key="replay-ops"), source="alertmanager")
    await api.act(opened.incident_id, "note", {"responder": "ana", "text": "checking replication"})
    await api.act(opened.incident_id, "acknowledge", {"responder": "ana"})
    await api.act(opened.incident_id, "escalate", {"responder": "ana", "reason": "needs a supervisor"})
    await api.act(
        opened.incident_id,
        "change_severity",
        {"responder": "sofia", "severity": Severity.SEV1, "reason": "customers affected"},
    )
    await env.sleep(timedelta(minutes=3))
    await api.act(opened.incident_id, "acknowledge", {"responder": "sofia"})
    await api.act(opened.incident_id, "reassign", {"responder": "sofia", "to": "sam"})
    await api.act(opened.incident_id, "cancel", {"responder": "sam", "reason": "monitoring glitch"})
    return client.get_workflow_handle(opened.incident_id)


async def _notes_until_continue_as_new(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    start = start_input().model_copy(update={"history_limit": 60})
    handle = await client.start_workflow(
        EscalationWorkflow.run, start, id="incident-replay-long", task_queue=QUEUE
    )
    for n in range(40):
        await handle.execute_update("note", NoteRequest(responder="ana", text=f"note {n}"))
    await handle.execute_update("resolve", ResolveRequest(responder="ana", summary="done"))
    await handle.result()
    return client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)


async def _channels_partly_down_then_resolve(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    """The demo policy with nothing listening on its e-mail and webhook ports: console only delivers."""
    config = load_config(EXAMPLE_CONFIG)
    api = Escalations(client, Settings(task_queue=QUEUE), config)
    opened = await api.trigger(incident(key="replay-channels"), policy="demo")
    await env.sleep(timedelta(seconds=10))
    await api.act(opened.incident_id, "acknowledge", {"responder": "ben"})
    await api.act(opened.incident_id, "resolve", {"responder": "ben", "summary": "freed disk space"})
    return client.get_workflow_handle(opened.incident_id)


async def _similar_incidents_on_the_first_page(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    """A resolved incident's root cause comes back on the next similar incident's first page."""
    api = Escalations(client, Settings(task_queue=QUEUE), load_config(EXAMPLE_CONFIG))
    past = await api.trigger(
        incident(key="replay-pool", title="Checkout database pool exhausted"), policy="support"
    )
    resolution = {
        "responder": "ana",
        "summary": "restarted",
        "root_cause": "a batch job held every connection",
    }
    await api.act(past.incident_id, "resolve", resolution)
    await client.get_workflow_handle(past.incident_id).result()
    again = incident(key="replay-pool-again", title="Checkout database pool exhausted again")
    opened = await api.trigger(again, policy="support")
    handle = client.get_workflow_handle(opened.incident_id)
    while (await api.status(opened.incident_id)).similar is None:
        await asyncio.sleep(0.1)
    await api.act(opened.incident_id, "resolve", {"responder": "ana", "summary": "stopped the batch job"})
    return handle


class SlowFrontline:
    """Pages to the frontline tier hang until released; every other page is delivered at once."""

    def __init__(self) -> None:
        self.frontline_paged, self.next_tier_paged, self.release = (
            asyncio.Event(),
            asyncio.Event(),
            asyncio.Event(),
        )

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, request: NotifyRequest) -> NotifyResult:
        if request.tier_name == "frontline":
            self.frontline_paged.set()
            await self.release.wait()
        else:
            self.next_tier_paged.set()
        return NotifyResult(deliveries=[Delivery(responder=r, channel=Channel.CONSOLE, delivered=True)
                                        for r in request.targets])  # fmt: skip


async def _escalate_now_during_a_slow_page(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    """The next tier is paged while the frontline page hangs; the resolve waits for that page."""
    slow, queue = SlowFrontline(), f"{QUEUE}-slow"
    escalate = EscalateRequest(responder="ana", reason="needs a supervisor")
    resolve = ResolveRequest(responder="sofia", summary="restarted")
    with tempfile.TemporaryDirectory() as tmp:
        store = sqlite_store(Path(tmp) / "records.db")
        close_out = CloseOut(store, load_config(EXAMPLE_CONFIG), client, QUEUE).close_out
        async with Worker(client, task_queue=queue, workflows=[EscalationWorkflow],
                          activities=[slow.notify, close_out]):  # fmt: skip
            handle = await client.start_workflow(
                EscalationWorkflow.run, start_input(), id="incident-replay-slow-page", task_queue=queue
            )
            await slow.frontline_paged.wait()
            await handle.execute_update("escalate", escalate)
            await slow.next_tier_paged.wait()
            await handle.execute_update("resolve", resolve)
            slow.release.set()
            await handle.result()
    return handle


async def _reply_codes_until_continue_as_new(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    """A responder's book given codes, freeing some, until its history asks for a fresh run."""
    handle = await client.start_workflow(ReplyCodesWorkflow.run, ReplyCodesInput(history_limit=60),
                                         id=reply_codes_id("replay-ana"), task_queue=QUEUE)  # fmt: skip
    opened = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    for n in range(20):
        closed = (
            [PagedIncident(incident_id=f"incident:replay:{n - 2}", triggered_at=opened)] if n % 4 == 3 else []
        )
        page = Assignment(incident_id=f"incident:replay:{n}", triggered_at=opened, round=0,
                          tier_name="frontline", phase=Phase.PRIMARY, closed=closed)  # fmt: skip
        await handle.execute_update(ReplyCodesWorkflow.assign, page)
    return client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)


@activity.defn(name=NOTICE_ACTIVITY)
async def _notice_sent(request: NoticeRequest) -> NotifyResult:
    return NotifyResult(deliveries=[Delivery(responder=r, channel=Channel.CONSOLE, delivered=True)
                                    for r in request.recipients])  # fmt: skip


async def _review_reminded_then_submitted(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    """A review reminded after a day, then submitted by its owner."""
    queue, p = f"{QUEUE}-review", policy()
    closed = await env.get_current_time()
    record = EscalationRecord(
        incident_id="incident:replay:review", incident=incident(), severity=Severity.SEV2,
        policy=start_input(p).policy_ref, outcome=Status.RESOLVED, triggered_at=closed - timedelta(hours=1),
        acknowledged_at=None, acknowledged_by=None, acknowledged_tier=None, resolved_at=closed,
        resolved_by="ana", resolution=Resolution(summary="failed over"), time_to_acknowledge_seconds=None,
        time_to_resolve_seconds=3600, timeline=[],
    )  # fmt: skip
    saved, start = opening(record, p.review, [tier.name for tier in p.tiers], {"ana"})
    assert start is not None
    submission = ReviewSubmission(verdict=Verdict.PARTLY, stop_at="supervisor", lessons=["replicas lag"])
    with tempfile.TemporaryDirectory() as tmp:
        store = sqlite_store(Path(tmp) / "records.db")
        store.save(saved)
        async with Worker(client, task_queue=queue, workflows=[ReviewWorkflow],
                          activities=[ReviewRecords(store).set_review, _notice_sent]):  # fmt: skip
            handle = await client.start_workflow(
                ReviewWorkflow.run, start, id=review_workflow_id(record.incident_id, record.triggered_at),
                task_queue=queue,
            )  # fmt: skip
            await env.sleep(timedelta(days=2))
            await handle.execute_update(
                ReviewWorkflow.submit_review, ReviewSubmissionRequest(responder="ana", submission=submission)
            )
            await handle.result()
    return handle


async def _schedule_target_resolved_then_acknowledged(
    env: WorkflowEnvironment, client: Client
) -> WorkflowHandle:
    rota = policy(tiers=[{"name": "frontline", "primary": ["schedule:frontline"], "ack_timeout": "10m"},
                         {"name": "supervisor", "primary": ["sofia"], "ack_timeout": "10m"}])  # fmt: skip
    handle = await client.start_workflow(EscalationWorkflow.run, start_input(rota),
                                         id="incident-replay-schedule", task_queue=QUEUE)  # fmt: skip
    await env.sleep(timedelta(minutes=15))  # whoever the schedule had on call let it pass to sofia
    view = await handle.query(EscalationWorkflow.status)
    on_call = next(e for e in view.timeline if e.kind is EventKind.ON_CALL).targets[0]
    await handle.execute_update("acknowledge", AcknowledgeRequest(responder=on_call))
    await handle.execute_update("resolve", ResolveRequest(responder=on_call, summary="done"))
    return handle


SCENARIOS = {
    "climb_exhaust_ack_resolve": _climb_exhaust_ack_resolve,
    "resolve_deadline_then_signals": _resolve_deadline_then_signals,
    "every_operation_then_cancel": _every_operation_then_cancel,
    "notes_until_continue_as_new": _notes_until_continue_as_new,
    "channels_partly_down_then_resolve": _channels_partly_down_then_resolve,
    "escalate_now_during_a_slow_page": _escalate_now_during_a_slow_page,
    "reply_codes_until_continue_as_new": _reply_codes_until_continue_as_new,
    "similar_incidents_on_the_first_page": _similar_incidents_on_the_first_page,
    "review_reminded_then_submitted": _review_reminded_then_submitted,
    "schedule_target_resolved_then_acknowledged": _schedule_target_resolved_then_acknowledged,
}


async def main() -> None:
    HISTORIES.mkdir(exist_ok=True)
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    ) as env:
        await ensure_search_attributes(env.client)
        with tempfile.TemporaryDirectory() as tmp:
            store = sqlite_store(Path(tmp) / "records.db")
            async with build_worker(env.client, QUEUE, load_config(EXAMPLE_CONFIG), store):
                for name in sys.argv[1:] or SCENARIOS:
                    handle = await SCENARIOS[name](env, env.client)
                    with contextlib.suppress(WorkflowContinuedAsNewError):
                        await handle.result(follow_runs=False)
                    history = await handle.fetch_history()
                    (HISTORIES / f"{name}.json").write_text(history.to_json())
                    print(f"saved {name}: {len(history.events)} events")


if __name__ == "__main__":
    asyncio.run(main())
