"""Tiers paging ``schedule:<name>``: read when the step is paged, from the worker's schedules on disk."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from escalation.config import load_config
from escalation.models import EscalationPolicy
from escalation.state import EventKind, Status
from starter.api import EscalationError
from starter.drill import skip_time
from tests.support import EXAMPLE_CONFIG, start_input
from tests.workflow.conftest import Ladder, notified, running_ladder

POLICY = """
name: rota
version: 1
repeat: {repeat}
tiers:
{tiers}
"""


def _wall(at: datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M}"


def write_schedule(directory: Path, name: str, first_handoff: datetime, overrides: str = "[]") -> None:
    """An hourly UTC rotation, ana then ben, from ``first_handoff``."""
    (directory / "schedules" / f"{name}.yaml").write_text(
        f"""
time_zone: UTC
layers:
  - participants: [ana, ben]
    shift_length: 1h
    first_handoff: "{_wall(first_handoff)}"
overrides: {overrides}
""",
        encoding="utf-8",
    )


@pytest.fixture
async def now(time_skipping_env: WorkflowEnvironment) -> datetime:
    """The test server's time to the minute: schedules are written around it."""
    return (await time_skipping_env.get_current_time()).replace(second=0, microsecond=0)


@pytest.fixture
def config_dir(tmp_path: Path, now: datetime) -> Path:
    """The example configuration plus ``rota`` (ana on call now, ben in an hour) and ``later``
    (nobody until tomorrow)."""
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE_CONFIG, directory)
    write_schedule(directory, "rota", now - timedelta(minutes=1))
    write_schedule(directory, "later", now + timedelta(days=1))
    return directory


@asynccontextmanager
async def ladder_with(
    env: WorkflowEnvironment, config_dir: Path, tmp_path: Path, tiers: list[str], repeat: int = 0
) -> AsyncIterator[Ladder]:
    (config_dir / "policies" / "rota.yaml").write_text(
        POLICY.format(repeat=repeat, tiers="\n".join(f"  - {tier}" for tier in tiers)), encoding="utf-8"
    )
    async with running_ladder(env, load_config(config_dir), tmp_path) as ladder:
        yield ladder


def rota(ladder: Ladder) -> EscalationPolicy:
    return ladder.api.config.policies["rota"]


async def test_a_schedule_is_read_when_its_step_is_paged_including_a_later_override(
    time_skipping_env: WorkflowEnvironment, config_dir: Path, tmp_path: Path, now: datetime
) -> None:
    tiers = [
        '{name: first, primary: ["schedule:rota"], ack_timeout: 10m}',
        '{name: second, primary: ["schedule:rota", sam], ack_timeout: 10m}',
    ]
    async with ladder_with(time_skipping_env, config_dir, tmp_path, tiers) as ladder:
        handle = await ladder.start(start_input(rota(ladder)))
        view = await ladder.until(handle, lambda v: notified(v) == [["ana"]])
        first = next(e for e in view.timeline if e.kind is EventKind.ON_CALL)
        assert (first.tier_name, first.targets) == ("first", ["ana"])
        assert first.note.startswith("schedule:rota: ana at ")
        assert view.paging == ["ana"]

        # sofia covers ana from now on: the next step reads the schedule afresh
        write_schedule(
            config_dir,
            "rota",
            now - timedelta(minutes=1),
            f'[{{start: "{_wall(now)}", end: "{_wall(now + timedelta(hours=2))}", responder: sofia}}]',
        )
        await skip_time(time_skipping_env, timedelta(minutes=10))
        view = await ladder.until(handle, lambda v: len(notified(v)) == 2)

        assert notified(view) == [["ana"], ["sofia", "sam"]]
        second = [e for e in view.timeline if e.kind is EventKind.ON_CALL][-1]
        assert (second.tier_name, second.targets) == ("second", ["sofia"])


async def test_whoever_a_reached_step_resolved_to_may_acknowledge_and_nobody_else(
    time_skipping_env: WorkflowEnvironment, config_dir: Path, tmp_path: Path
) -> None:
    tiers = [
        '{name: first, primary: ["schedule:rota"], ack_timeout: 10m}',
        "{name: second, primary: [sofia], ack_timeout: 10m}",
    ]
    async with ladder_with(time_skipping_env, config_dir, tmp_path, tiers) as ladder:
        handle = await ladder.start(start_input(rota(ladder)))
        await ladder.until(handle, lambda v: notified(v) == [["ana"]])

        with pytest.raises(
            EscalationError, match="responder 'ben' is not a target of policy 'rota' nor on call"
        ):
            await ladder.api.act(handle.id, "acknowledge", {"responder": "ben"})
        await skip_time(time_skipping_env, timedelta(minutes=10))
        await ladder.until(handle, lambda v: v.tier_name == "second")
        view = await ladder.api.act(handle.id, "acknowledge", {"responder": "ana", "note": "mine"})

        assert (view.status, view.acknowledged_by) == (Status.ACKNOWLEDGED, "ana")


async def test_a_step_with_nobody_on_call_is_skipped_at_once_saying_why(
    time_skipping_env: WorkflowEnvironment, config_dir: Path, tmp_path: Path
) -> None:
    tiers = [
        '{name: first, primary: ["schedule:later"], ack_timeout: 1h}',
        "{name: second, primary: [sofia], ack_timeout: 10m}",
    ]
    async with ladder_with(time_skipping_env, config_dir, tmp_path, tiers) as ladder:
        handle = await ladder.start(start_input(rota(ladder)))
        view = await ladder.until(handle, lambda v: notified(v) == [["sofia"]])

        skipped = next(e for e in view.timeline if e.kind is EventKind.SKIPPED)
        assert skipped.tier_name == "first"
        assert skipped.note.startswith("nobody to page: schedule:later: nobody on call at ")
        page = next(e for e in view.timeline if e.kind is EventKind.NOTIFIED)
        assert page.at - view.timeline[0].at < timedelta(minutes=1), "the empty step's hour is not waited out"


async def test_a_ladder_of_empty_steps_ends_exhausted_and_open(
    time_skipping_env: WorkflowEnvironment, config_dir: Path, tmp_path: Path
) -> None:
    tiers = [
        '{name: first, primary: ["schedule:later"], ack_timeout: 1h}',
        '{name: second, primary: ["schedule:later"], backup: ["schedule:later"], ack_timeout: 1h}',
    ]
    async with ladder_with(time_skipping_env, config_dir, tmp_path, tiers, repeat=1) as ladder:
        handle = await ladder.start(start_input(rota(ladder)))
        view = await ladder.until(handle, lambda v: v.status is Status.EXHAUSTED)

        assert notified(view) == []
        assert [e.kind for e in view.timeline].count(EventKind.SKIPPED) == 6
        assert view.timeline[-1].at - view.timeline[0].at < timedelta(minutes=1)
        assert (await handle.describe()).status.name == "RUNNING", "exhausted stays open"
