"""Responder operations on the time-skipping server: escalate, note, severity, reassign, cancel."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from escalation.actions import NoteRequest
from escalation.models import Severity
from escalation.settings import Settings
from escalation.state import CLOSE_OUT_ACTIVITY, EscalationRecord, EventKind, Status
from starter.api import EscalationError, Escalations
from starter.drill import skip_time
from tests.support import incident, policy, start_input
from tests.workflow.conftest import Ladder, end, notified
from tests.workflow.test_rejections import accepted_updates
from workflows import visibility
from workflows.escalation import EscalationWorkflow

SCALED = policy(severities={"SEV1": {"timeout_scale": 0.5}, "SEV4": {"timeout_scale": 2}})


async def current_details(handle: WorkflowHandle) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def search_attribute(handle: WorkflowHandle, key: object) -> object:
    return (await handle.describe()).typed_search_attributes.get(key)


async def test_escalate_now_hands_an_acknowledged_incident_to_the_next_tier(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await ladder.api.act(handle.id, "acknowledge", {"responder": "ana"})

    view = await ladder.api.act(
        handle.id, "escalate", {"responder": "ana", "reason": "needs a DBA, beyond my access"}
    )

    assert (view.status, view.tier_name, view.acknowledged_by) == (Status.TRIGGERED, "supervisor", None)
    escalated = [e for e in (await ladder.status(handle)).timeline if e.kind is EventKind.ESCALATED][-1]
    assert (escalated.actor, escalated.targets, escalated.note) == (
        "ana",
        ["sofia"],
        "needs a DBA, beyond my access",
    )
    after = await ladder.until(handle, lambda v: notified(v) == [["ana"], ["sofia"]])
    assert after.status is Status.TRIGGERED, "the new tier must acknowledge again"
    assert await search_attribute(handle, visibility.TIER) == 2


async def test_escalate_to_a_tier_skips_the_steps_between_and_refuses_going_down(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: notified(v) == [["ana"]])

    view = await ladder.api.act(
        handle.id, "escalate", {"responder": "ana", "reason": "replica corrupt", "to_tier": "specialist"}
    )

    assert (view.status, view.tier_name, view.paging) == (
        Status.TRIGGERED,
        "specialist",
        ["dba-kim", "net-lee"],
    )
    after = await ladder.until(handle, lambda v: len(notified(v)) == 2)
    assert notified(after) == [["ana"], ["dba-kim", "net-lee"]], "ben and the supervisors are not paged"


async def test_escalate_to_a_lower_tier_is_refused_and_not_recorded(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.api.act(handle.id, "escalate", {"responder": "ana", "reason": "db", "to_tier": "supervisor"})
    before = await accepted_updates(handle)

    with pytest.raises(EscalationError, match="to_tier 'frontline' is not above the current tier supervisor"):
        await ladder.api.act(
            handle.id, "escalate", {"responder": "sofia", "reason": "back down", "to_tier": "frontline"}
        )
    assert await accepted_updates(handle) == before


async def test_escalate_from_the_last_tier_is_refused_and_not_recorded(ladder: Ladder) -> None:
    handle = await ladder.start(start_input(i=incident(Severity.SEV1)))
    await ladder.api.act(handle.id, "escalate", {"responder": "sofia", "reason": "specialists needed"})
    before = await accepted_updates(handle)

    with pytest.raises(EscalationError, match="tier specialist is the last tier of policy 'test'"):
        await ladder.api.act(handle.id, "escalate", {"responder": "dba-kim", "reason": "even higher"})
    assert await accepted_updates(handle) == before


async def test_notes_reach_status_and_the_web_ui_details(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.api.act(handle.id, "note", {"responder": "ana", "text": "replica lag is 40 minutes"})
    await ladder.api.act(handle.id, "note", {"responder": "net-lee", "text": "network path is clean"})

    view = await ladder.status(handle)
    notes = [(e.actor, e.note) for e in view.timeline if e.kind is EventKind.NOTE]
    assert notes == [("ana", "replica lag is 40 minutes"), ("net-lee", "network path is clean")]
    details = await current_details(handle)
    assert "**Latest notes:**" in details
    assert "ana: replica lag is 40 minutes" in details and "net-lee: network path is clean" in details
    assert "**Paging:** ana" in details

    with pytest.raises(EscalationError, match="note is empty"):
        await ladder.api.act(handle.id, "note", {"responder": "ana", "text": "  "})


async def test_raising_severity_shortens_the_remaining_wait(ladder: Ladder) -> None:
    handle = await ladder.start(start_input(SCALED))
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await skip_time(ladder.env, timedelta(minutes=5))

    view = await ladder.api.act(
        handle.id,
        "change_severity",
        {"responder": "ana", "severity": Severity.SEV1, "reason": "all regions down"},
    )
    assert view.severity is Severity.SEV1
    changed = [e for e in (await ladder.status(handle)).timeline if e.kind is EventKind.SEVERITY_CHANGED]
    assert [(e.actor, e.note) for e in changed] == [("ana", "SEV2 -> SEV1: all regions down")]
    assert await search_attribute(handle, visibility.SEVERITY) == "SEV1"

    await skip_time(ladder.env, timedelta(minutes=6))  # 10m left at SEV2 become 5m at SEV1
    paged = await ladder.until(handle, lambda v: len(notified(v)) == 2)
    assert notified(paged) == [["ana"], ["ben"]]


async def test_raising_severity_moves_up_to_the_severitys_start_tier(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())  # SEV2 at frontline; SEV1 starts at supervisor
    await ladder.until(handle, lambda v: len(notified(v)) == 1)

    view = await ladder.api.act(
        handle.id,
        "change_severity",
        {"responder": "ana", "severity": Severity.SEV1, "reason": "customers affected"},
    )

    assert (view.tier_name, view.paging) == ("supervisor", ["sofia"])
    await ladder.until(handle, lambda v: notified(v) == [["ana"], ["sofia"]])


async def test_lowering_severity_lengthens_the_wait_and_pages_nobody_new(ladder: Ladder) -> None:
    handle = await ladder.start(start_input(SCALED))
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await skip_time(ladder.env, timedelta(minutes=5))

    await ladder.api.act(
        handle.id,
        "change_severity",
        {"responder": "ana", "severity": Severity.SEV4, "reason": "internal tool only"},
    )

    await skip_time(ladder.env, timedelta(minutes=15))  # past the SEV2 deadline: 10m left became 20m
    assert notified(await ladder.status(handle)) == [["ana"]]
    await skip_time(ladder.env, timedelta(minutes=6))
    await ladder.until(handle, lambda v: notified(v) == [["ana"], ["ben"]])


async def test_reassign_passes_the_acknowledgement(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.api.act(handle.id, "acknowledge", {"responder": "ana"})

    view = await ladder.api.act(handle.id, "reassign", {"responder": "ana", "to": "ben"})

    assert view.acknowledged_by == "ben" and view.status is Status.ACKNOWLEDGED
    event = next(e for e in (await ladder.status(handle)).timeline if e.kind is EventKind.REASSIGNED)
    assert (event.actor, event.targets, event.note) == ("ana", ["ben"], "from ana to ben")
    assert await search_attribute(handle, visibility.ACKNOWLEDGED_BY) == "ben"
    with pytest.raises(EscalationError, match="ben already holds the incident"):
        await ladder.api.act(handle.id, "reassign", {"responder": "ben", "to": "ben"})


async def test_a_lower_tier_may_not_resolve_once_the_ladder_moved_up(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await skip_time(ladder.env, timedelta(minutes=26))
    await ladder.until(handle, lambda v: v.tier_name == "supervisor")

    with pytest.raises(
        EscalationError, match="ana may not resolve at tier supervisor; ask one of: sofia, sam"
    ):
        await ladder.api.act(handle.id, "resolve", {"responder": "ana", "summary": "fixed"})
    assert await accepted_updates(handle) == 0


async def test_cancel_closes_out_as_a_false_alarm(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.api.act(handle.id, "cancel", {"responder": "ana", "reason": "synthetic check misfired"})

    record: EscalationRecord = await handle.result()
    assert (record.outcome, record.resolved_by) == (Status.CANCELLED, "ana")
    saved = ladder.store.latest(handle.id)
    assert saved is not None and saved.outcome is Status.CANCELLED
    assert saved.resolution is not None and saved.resolution.summary == "synthetic check misfired"


async def test_signals_carry_every_operation(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await handle.signal("note", NoteRequest(responder="ana", text="looking"))
    await handle.signal("note", {"responder": "mallory", "text": "ignored"})
    await handle.signal("escalate", {"responder": "ana", "reason": "need a supervisor"})
    await handle.signal("change_severity", {"responder": "sofia", "severity": "SEV3", "reason": "minor"})
    await handle.signal("cancel", {"responder": "sofia", "reason": "duplicate of another page"})

    record: EscalationRecord = await handle.result()
    kinds = [e.kind for e in record.timeline]
    assert kinds.count(EventKind.NOTE) == 1
    assert EventKind.SEVERITY_CHANGED in kinds
    assert record.outcome is Status.CANCELLED and record.resolved_by == "sofia"


async def test_simultaneous_acknowledgements_have_exactly_one_winner(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    results = await asyncio.gather(
        ladder.api.act(handle.id, "acknowledge", {"responder": "ana"}),
        ladder.api.act(handle.id, "acknowledge", {"responder": "ben"}),
        return_exceptions=True,
    )

    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, EscalationError)]
    assert len(winners) == 1 and len(losers) == 1
    holder = winners[0].acknowledged_by
    assert f"already acknowledged by {holder}" in str(losers[0])


async def test_three_hundred_notes_survive_continue_as_new(ladder: Ladder) -> None:
    start = start_input().model_copy(update={"history_limit": 200})
    handle = await ladder.start(start)
    first_run = (await handle.describe()).run_id
    paged = await ladder.until(handle, lambda v: len(notified(v)) == 1)

    for n in range(300):
        await ladder.api.act(handle.id, "note", {"responder": "ana", "text": f"note {n}"})

    view = await ladder.status(handle)
    assert [e.note for e in view.timeline if e.kind is EventKind.NOTE] == [f"note {n}" for n in range(300)]
    assert (view.status, view.tier_name, view.incident_id) == (Status.TRIGGERED, "frontline", handle.id)
    assert notified(view) == [["ana"]], "a new run must not page the same step again"
    assert view.next_deadline == paged.next_deadline, "the step's deadline carries over"
    assert (await handle.describe()).run_id != first_run, "the history was handed to a fresh run"

    await ladder.api.act(handle.id, "resolve", {"responder": "ana", "summary": "fixed after many notes"})
    record: EscalationRecord = await handle.result()
    assert sum(e.kind is EventKind.NOTE for e in record.timeline) == 300


async def test_duplicate_trigger_attaches_and_pages_nobody(ladder: Ladder) -> None:
    key = uuid.uuid4().hex[:8]
    first = await ladder.api.trigger(incident(key=key))
    ladder.started.append(ladder.client.get_workflow_handle(first.incident_id))
    handle = ladder.client.get_workflow_handle(first.incident_id)
    await ladder.until(handle, lambda v: len(notified(v)) == 1)

    again = await ladder.api.trigger(incident(key=key), source="alertmanager")

    assert (first.deduplicated, first.occurrences) == (False, 1)
    assert (again.incident_id, again.deduplicated, again.occurrences) == (first.incident_id, True, 2)
    view = await ladder.status(handle)
    assert notified(view) == [["ana"]]
    repeated = [e for e in view.timeline if e.kind is EventKind.REPEATED]
    assert [e.note for e in repeated] == ["occurrence 2 from alertmanager"]


async def test_after_resolution_the_same_key_opens_a_new_escalation(ladder: Ladder) -> None:
    key = uuid.uuid4().hex[:8]
    first = await ladder.api.trigger(incident(key=key))
    handle = ladder.client.get_workflow_handle(first.incident_id)
    await ladder.api.act(first.incident_id, "resolve", {"responder": "ana", "summary": "fixed"})
    await handle.result()

    second = await ladder.api.trigger(incident(key=key))
    ladder.started.append(ladder.client.get_workflow_handle(second.incident_id))

    assert (second.incident_id, second.deduplicated, second.occurrences) == (first.incident_id, False, 1)
    view = await ladder.until(ladder.client.get_workflow_handle(second.incident_id), lambda v: notified(v))
    assert view.status is Status.TRIGGERED


async def test_a_trigger_during_close_out_waits_and_opens_a_new_escalation(ladder: Ladder) -> None:
    release = asyncio.Event()

    @activity.defn(name=CLOSE_OUT_ACTIVITY)
    async def held_close_out(record: EscalationRecord) -> None:
        await release.wait()

    queue = ladder.task_queue + "-held"
    api = Escalations(ladder.client, Settings(task_queue=queue), ladder.api.config)
    key = uuid.uuid4().hex[:8]
    async with Worker(ladder.client, task_queue=queue, workflows=[EscalationWorkflow],
                      activities=[ladder.notify, held_close_out]):  # fmt: skip
        first = await api.trigger(incident(key=key))
        await api.act(first.incident_id, "resolve", {"responder": "ana", "summary": "fixed"})
        retrigger = asyncio.create_task(api.trigger(incident(key=key)))
        await asyncio.sleep(0.5)
        assert not retrigger.done(), "a trigger must not attach to an escalation that is closing"
        release.set()
        second = await retrigger
        await end(ladder.client.get_workflow_handle(second.incident_id))  # while its queue has a worker
    assert (second.deduplicated, second.occurrences) == (False, 1)
