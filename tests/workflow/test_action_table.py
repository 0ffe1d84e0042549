"""Every action of the table reaches a real workflow both ways: as a validated update and as a signal."""

from __future__ import annotations

import pytest

from escalation.actions import ACTIONS, Action
from tests.action_samples import SAMPLES
from tests.support import start_input
from tests.workflow.conftest import Ladder


async def _prepared(ladder: Ladder, action: Action):
    handle = await ladder.start(start_input())
    await ladder.until(handle, lambda v: v.timeline[-1].kind == "notified")
    for name, request in SAMPLES[action.name].first:
        await ladder.api.act(handle.id, name, request)
    return handle


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
async def test_each_action_applies_as_an_update(ladder: Ladder, action: Action) -> None:
    sample = SAMPLES[action.name]
    handle = await _prepared(ladder, action)

    result = await ladder.api.act(handle.id, action.name, sample.request)

    assert result.incident_id == handle.id
    assert action.outcome(result, action.request.model_validate(sample.request)).startswith(handle.id)
    assert sample.took_effect(await ladder.status(handle))


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
async def test_each_action_applies_as_a_signal_of_the_same_name(ladder: Ladder, action: Action) -> None:
    sample = SAMPLES[action.name]
    handle = await _prepared(ladder, action)

    await handle.signal(action.name, action.request.model_validate(sample.request))

    await ladder.until(handle, sample.took_effect)


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
async def test_each_action_refuses_a_responder_outside_the_policy(ladder: Ladder, action: Action) -> None:
    handle = await _prepared(ladder, action)
    before = await ladder.status(handle)

    with pytest.raises(Exception, match="mallory"):
        await ladder.api.act(handle.id, action.name, SAMPLES[action.name].request | {"responder": "mallory"})

    assert (await ladder.status(handle)).timeline == before.timeline
