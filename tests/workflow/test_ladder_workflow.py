"""The escalation ladder on the time-skipping test server: every path a user would notice."""

from __future__ import annotations

import itertools
from datetime import timedelta

from escalation.actions import AcknowledgeRequest
from escalation.models import Severity
from escalation.state import EventKind, Status
from starter.drill import skip_time
from tests.support import incident, policy, start_input
from tests.workflow.conftest import Ladder, notified


async def test_acknowledged_at_first_tier_stops_the_ladder(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: notified(v) == [["ana"]])

    view = await ladder.api.act(handle.id, "acknowledge", {"responder": "ana", "note": "looking"})

    assert view.status is Status.ACKNOWLEDGED
    assert view.acknowledged_by == "ana"
    await skip_time(ladder.env, timedelta(hours=5))
    after = await ladder.status(handle)
    assert after.status is Status.ACKNOWLEDGED
    assert notified(after) == [["ana"]], "nobody else may be paged once acknowledged"


async def test_unanswered_pages_climb_backup_then_next_tier_in_order(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)

    view = await ladder.skip_until(handle, lambda v: v.status is Status.EXHAUSTED, within=timedelta(hours=2))

    assert notified(view) == [["ana"], ["ben"], ["sofia"], ["sam"], ["dba-kim", "net-lee"]]
    kinds = [e.kind for e in view.timeline]
    assert kinds.count(EventKind.ACK_TIMEOUT) == 5
    assert kinds[-1] is EventKind.EXHAUSTED
    pages = [e for e in view.timeline if e.kind is EventKind.NOTIFIED]
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(pages)]
    assert [round(g / 60) for g in gaps] == [15, 10, 10, 10], "each step waits its own timeout"
    assert [e.tier_name for e in pages] == [
        "frontline",
        "frontline",
        "supervisor",
        "supervisor",
        "specialist",
    ]


async def test_severity_picks_start_tier_and_scales_timeouts(ladder: Ladder) -> None:
    handle = await ladder.start(start_input(i=incident(Severity.SEV1)))
    await ladder.until(handle, lambda v: len(notified(v)) == 1)

    await skip_time(ladder.env, timedelta(minutes=6))
    view = await ladder.until(handle, lambda v: len(notified(v)) == 2)

    assert notified(view) == [["sofia"], ["sam"]]
    pages = [e for e in view.timeline if e.kind is EventKind.NOTIFIED]
    assert round((pages[1].at - pages[0].at).total_seconds() / 60) == 5, "SEV1 halves 10m"


async def test_repeat_walks_the_ladder_again_then_exhausts(ladder: Ladder) -> None:
    twice = policy(
        repeat=1,
        tiers=[
            {"name": "frontline", "primary": ["ana"], "ack_timeout": "5m"},
            {"name": "supervisor", "primary": ["sofia"], "ack_timeout": "5m"},
        ],
    )
    handle = await ladder.start(start_input(twice))
    await ladder.until(handle, lambda v: len(notified(v)) == 1)

    view = await ladder.skip_until(handle, lambda v: v.status is Status.EXHAUSTED, within=timedelta(hours=1))

    assert notified(view) == [["ana"], ["sofia"], ["ana"], ["sofia"]]
    assert view.round == 1
    assert (await handle.describe()).status.name == "RUNNING", "exhausted stays open"


async def test_repeat_rounds_restart_at_repeat_from(ladder: Ladder) -> None:
    from_supervisor = policy(
        repeat=2,
        repeat_from="supervisor",
        tiers=[
            {"name": "frontline", "primary": ["ana"], "ack_timeout": "5m"},
            {"name": "supervisor", "primary": ["sofia"], "ack_timeout": "5m"},
            {"name": "specialist", "primary": ["dba-kim"], "ack_timeout": "5m"},
        ],
    )
    handle = await ladder.start(start_input(from_supervisor))
    await ladder.until(handle, lambda v: len(notified(v)) == 1)

    view = await ladder.skip_until(handle, lambda v: v.status is Status.EXHAUSTED, within=timedelta(hours=1))

    assert notified(view) == [["ana"], ["sofia"], ["dba-kim"], ["sofia"], ["dba-kim"], ["sofia"], ["dba-kim"]]
    rounds = [e.note for e in view.timeline if e.kind is EventKind.ESCALATED and e.note]
    assert rounds == ["round 2", "round 3"]


async def test_acknowledge_and_resolve_after_exhaustion(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await ladder.skip_until(handle, lambda v: v.status is Status.EXHAUSTED, within=timedelta(hours=2))

    acked = await ladder.api.act(handle.id, "acknowledge", {"responder": "net-lee"})
    assert acked.status is Status.ACKNOWLEDGED
    resolved = await ladder.api.act(
        handle.id, "resolve", {"responder": "net-lee", "summary": "failed over to replica"}
    )
    assert resolved.status is Status.RESOLVED
    record = await handle.result()
    assert record.outcome is Status.RESOLVED
    assert record.acknowledged_tier == "specialist"


async def test_resolve_closes_out_with_the_full_record(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await skip_time(ladder.env, timedelta(minutes=20))
    await ladder.until(handle, lambda v: notified(v) == [["ana"], ["ben"]])
    await ladder.api.act(handle.id, "acknowledge", {"responder": "ben"})
    await skip_time(ladder.env, timedelta(minutes=30))

    await ladder.api.act(
        handle.id,
        "resolve",
        {"responder": "ben", "summary": "restarted the primary", "root_cause": "disk full"},
    )
    await handle.result()

    saved = ladder.store.latest(handle.id)
    assert saved is not None
    assert saved.outcome is Status.RESOLVED
    assert (saved.acknowledged_by, saved.acknowledged_tier, saved.resolved_by) == ("ben", "frontline", "ben")
    assert saved.resolution is not None and saved.resolution.root_cause == "disk full"
    assert (saved.policy.name, saved.policy.version) == ("test", "7")
    assert round(saved.time_to_acknowledge_seconds / 60) == 20
    assert round(saved.time_to_resolve_seconds / 60) == 50
    assert [e.kind for e in saved.timeline][-1] is EventKind.RESOLVED


async def test_signals_acknowledge_and_ignore_refused_senders(ladder: Ladder) -> None:
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)

    await handle.signal("acknowledge", AcknowledgeRequest(responder="mallory"))
    await handle.signal("acknowledge", AcknowledgeRequest(responder="sofia"))  # tier not reached yet
    await handle.signal("acknowledge", AcknowledgeRequest(responder="ben", note="on it"))
    view = await ladder.until(handle, lambda v: v.status is Status.ACKNOWLEDGED)

    assert view.acknowledged_by == "ben"
    acks = [e for e in view.timeline if e.kind is EventKind.ACKNOWLEDGED]
    assert [(e.actor, e.note) for e in acks] == [("ben", "on it")]

    await handle.signal("resolve", {"responder": "ben", "summary": "fixed"})
    record = await handle.result()
    assert record.resolved_by == "ben"


async def test_resolve_deadline_re_escalates_an_unresolved_acknowledgement(ladder: Ladder) -> None:
    handle = await ladder.start(start_input(policy(resolve_deadline="1h")))
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await ladder.api.act(handle.id, "acknowledge", {"responder": "ana"})

    await skip_time(ladder.env, timedelta(minutes=61))
    view = await ladder.until(handle, lambda v: notified(v) == [["ana"], ["sofia"]])

    assert view.status is Status.TRIGGERED
    assert view.tier_name == "supervisor"
    assert view.acknowledged_by is None
    assert EventKind.RESOLVE_TIMEOUT in [e.kind for e in view.timeline]
