"""The saved close-out record agrees with itself after escalate-now and reassign."""

from __future__ import annotations

from datetime import timedelta

from starter.drill import skip_time
from tests.support import start_input
from tests.workflow.conftest import Ladder, notified


async def test_after_escalate_now_and_reassign_the_record_names_first_acknowledger_and_last_holder(
    ladder: Ladder,
) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await skip_time(ladder.env, timedelta(minutes=5))
    await ladder.api.act(handle.id, "acknowledge", {"responder": "ana"})
    await ladder.api.act(handle.id, "escalate", {"responder": "ana", "reason": "needs a supervisor"})
    await ladder.until(handle, lambda v: notified(v) == [["ana"], ["sofia"]])
    await ladder.api.act(handle.id, "acknowledge", {"responder": "sofia"})
    await ladder.api.act(handle.id, "reassign", {"responder": "sofia", "to": "dba-kim"})
    await ladder.api.act(
        handle.id, "resolve", {"responder": "dba-kim", "summary": "failed over to the replica"}
    )
    await handle.result()

    saved = ladder.store.latest(handle.id)
    assert saved is not None
    assert (saved.acknowledged_by, saved.acknowledged_tier) == ("ana", "frontline")
    assert saved.acknowledged_at is not None
    assert round((saved.acknowledged_at - saved.triggered_at).total_seconds() / 60) == 5
    assert saved.time_to_acknowledge_seconds == (saved.acknowledged_at - saved.triggered_at).total_seconds()
    assert (saved.last_held_by, saved.last_held_tier) == ("dba-kim", "specialist")


async def test_after_escalate_now_without_a_new_acknowledgement_the_record_keeps_the_first(
    ladder: Ladder,
) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await ladder.api.act(handle.id, "acknowledge", {"responder": "ana"})
    await ladder.api.act(handle.id, "escalate", {"responder": "ana", "reason": "needs a supervisor"})
    await ladder.api.act(handle.id, "resolve", {"responder": "sofia", "summary": "restarted the primary"})

    record = await handle.result()

    assert (record.acknowledged_by, record.acknowledged_tier) == ("ana", "frontline")
    assert (record.last_held_by, record.last_held_tier) == ("ana", "frontline")
