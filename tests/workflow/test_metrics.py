"""A worker's metrics move with real escalations: opened once, every page, the close-out's times."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.metrics import REGISTRY
from starter.drill import skip_time
from tests.scrape import growth, registry_samples
from tests.support import start_input
from tests.workflow.conftest import Ladder, notified


async def test_trigger_acknowledge_resolve_moves_the_counters_and_the_times(ladder: Ladder) -> None:
    before = registry_samples(REGISTRY)
    handle = await ladder.start(start_input())  # SEV2: ana on the console
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await skip_time(ladder.env, timedelta(minutes=5))
    await ladder.api.act(handle.id, "acknowledge", {"responder": "ana"})
    await skip_time(ladder.env, timedelta(minutes=40))
    await ladder.api.act(handle.id, "resolve", {"responder": "ana", "summary": "failed over"})
    record = await handle.result()
    delta = growth(before, registry_samples(REGISTRY))

    assert delta("escalation_opened_total", severity="SEV2") == 1
    assert delta("escalation_pages_total", channel="console", outcome="delivered") == 1
    assert delta("escalation_notify_duration_seconds_count", outcome="reached") == 1
    assert delta("escalation_closed_total", outcome="resolved", severity="SEV2") == 1
    assert delta("escalation_time_to_acknowledge_seconds_count", severity="SEV2") == 1
    assert delta("escalation_time_to_acknowledge_seconds_sum", severity="SEV2") == pytest.approx(
        record.time_to_acknowledge_seconds
    )
    assert delta("escalation_time_to_acknowledge_seconds_bucket", severity="SEV2", le="120.0") == 0
    assert delta("escalation_time_to_acknowledge_seconds_bucket", severity="SEV2", le="600.0") == 1
    assert delta("escalation_time_to_resolve_seconds_count", severity="SEV2") == 1
    assert delta("escalation_time_to_resolve_seconds_bucket", severity="SEV2", le="1800.0") == 0
    assert delta("escalation_time_to_resolve_seconds_bucket", severity="SEV2", le="3600.0") == 1


async def test_an_escalation_that_climbs_is_opened_once_and_each_page_counted(ladder: Ladder) -> None:
    before = registry_samples(REGISTRY)
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: len(notified(v)) == 1)
    await skip_time(ladder.env, timedelta(minutes=16))  # frontline's 15 minutes pass: the backup is paged
    await ladder.until(handle, lambda v: notified(v) == [["ana"], ["ben"]])
    await ladder.api.act(handle.id, "cancel", {"responder": "ana", "reason": "a test alert"})
    await handle.result()
    delta = growth(before, registry_samples(REGISTRY))

    assert delta("escalation_opened_total", severity="SEV2") == 1
    assert delta("escalation_pages_total", channel="console", outcome="delivered") == 2
    assert delta("escalation_notify_duration_seconds_count", outcome="reached") == 2
    assert delta("escalation_closed_total", outcome="cancelled", severity="SEV2") == 1
    assert delta("escalation_time_to_acknowledge_seconds_count", severity="SEV2") == 0
