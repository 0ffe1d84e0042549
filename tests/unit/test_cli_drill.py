"""``escalate drill``'s options: a bad one is one line naming it and the fix, exit code 2, before
any server starts; and the offsets it prints, in whole seconds of the ladder."""

from __future__ import annotations

import argparse
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from activities.drill_recorder import paged_at
from escalation.config import load_config
from starter.cli import run
from starter.drill import whole_seconds
from starter.drill_cli import drill_request
from starter.errors import BadInputError
from tests.support import EXAMPLE_CONFIG
from tests.unit.test_knowledge import request as notify_request

GOOD = ["drill", "--service", "checkout", "--severity", "SEV1"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--service", "Check Out"], "--service: 'Check Out' is not a service id; use lower-case letters"),
        (["--severity", "SEV9"], "--severity: 'SEV9' is not a severity; use SEV1 (most urgent) to SEV4"),
        (["--policy", "nightly"], "--policy: 'nightly' is not a policy; use one of: demo, support"),
        (["--at", "saturday 3am"], "--at: 'saturday 3am' is not a time; write it like 2026-11-28T03:00"),
        (
            ["--ack-by", "sofia"],
            "--ack-by: 'sofia' names no responder; write RESPONDER@OFFSET, e.g. sofia@25m",
        ),
        (["--ack-by", "@25m"], "--ack-by: '@25m' names no responder; write RESPONDER@OFFSET"),
        (["--ack-by", "sophia@25m"], "--ack-by: 'sophia' is not in the roster; use one of: ana, ben,"),
        (["--ack-by", "sofia@25"], "--ack-by: after '@', '25' is not a duration: write it like \"45s\""),
        (["--ack-by", "sofia@0s"], "--ack-by: after '@', '0s' is too short: the smallest duration is 1s"),
    ],
)
def test_a_bad_option_is_one_line_naming_it_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], options: list[str], expected: str
) -> None:
    monkeypatch.setenv("ESCALATION_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.setattr("starter.drill.run_drill", _never_started)
    args = GOOD + options  # a later option replaces the good one

    assert run(args) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"escalate: {expected}")
    assert captured.err.count("\n") == 1


async def _never_started(*args: object) -> None:
    raise AssertionError("a drill with a bad option must not start")


def test_offsets_leave_out_the_workers_milliseconds_at_each_step() -> None:
    """Forty 5-minute steps, each starting 30 ms after the deadline before it (the worker's own
    time): 1.2 s late by the end, yet every offset is the ladder's whole seconds."""
    start = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    times = [start + n * timedelta(minutes=5, milliseconds=30) for n in range(41)]

    offsets = whole_seconds(times, start)

    assert offsets == [n * 300 for n in range(41)]
    assert int((times[-1] - start).total_seconds()) == 40 * 300 + 1, "counted from the trigger, 1 s off"


def test_a_step_taken_at_once_keeps_the_offset_of_the_one_before() -> None:
    start = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    times = [
        start + timedelta(milliseconds=40),
        start + timedelta(milliseconds=90),
        start + timedelta(seconds=8.1),
    ]

    assert whole_seconds(times, start) == [0, 0, 8]


def test_a_busy_machines_delay_of_over_half_a_second_per_step_is_still_left_out() -> None:
    start = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    times = [start + n * timedelta(seconds=5.6) for n in range(1, 6)]

    assert whole_seconds(times, start) == [5, 10, 15, 20, 25]


def test_a_page_is_dated_when_the_workflow_paged_whatever_the_worker_took_to_schedule_it() -> None:
    """A busy worker scheduled one step's page 0.8 s late and the next one's 0.05 s late: dated by
    scheduling time the second gap would be 0.75 s short, and a whole second short after flooring."""
    paged = [datetime(2026, 11, 28, 3, 0, tzinfo=UTC), datetime(2026, 11, 28, 3, 15, 0, 20_000, tzinfo=UTC)]
    waits = [timedelta(minutes=15), timedelta(minutes=7, seconds=30)]
    delays = [timedelta(seconds=0.8), timedelta(seconds=0.05)]

    dated = [
        paged_at(notify_request().model_copy(update={"deadline": at + wait}), at + delay)
        for at, wait, delay in zip(paged, waits, delays, strict=True)
    ]

    assert dated == paged
    assert whole_seconds(dated, paged[0]) == [0, 900]


def _drill_args(policy: str | None, at: str) -> argparse.Namespace:
    return argparse.Namespace(service="checkout", severity="SEV1", policy=policy, at=at, ack_by=None)


def test_a_time_without_offset_is_read_in_the_zone_of_the_policys_schedules_as_oncall_reads_it() -> None:
    config = load_config(EXAMPLE_CONFIG)  # support pages schedule:frontline (America/New_York)

    request = drill_request(_drill_args(None, "2026-11-28T03:00"), config)

    assert request.at == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert request.at.tzinfo == ZoneInfo("America/New_York"), "the drill shows its times in that zone"
    written = drill_request(_drill_args(None, "2026-11-28T03:00Z"), config)
    assert written.at == datetime(2026, 11, 28, 3, 0, tzinfo=UTC), "an offset written wins"


def test_a_policy_without_schedules_reads_it_in_this_machines_zone() -> None:
    config = load_config(EXAMPLE_CONFIG)

    request = drill_request(_drill_args("demo", "2026-11-28T03:00"), config)

    assert request.at == datetime(2026, 11, 28, 3, 0).astimezone()


def test_schedules_in_two_zones_need_an_offset(tmp_path: Path) -> None:
    directory = shutil.copytree(EXAMPLE_CONFIG, tmp_path / "config")
    frontline = (directory / "schedules" / "frontline.yaml").read_text(encoding="utf-8")
    berlin = frontline.replace("time_zone: America/New_York", "time_zone: Europe/Berlin")
    (directory / "schedules" / "berlin.yaml").write_text(berlin, encoding="utf-8")
    support = directory / "policies" / "support.yaml"
    text = support.read_text(encoding="utf-8")
    support.write_text(text.replace('"schedule:frontline"', '"schedule:frontline", "schedule:berlin"'))
    config = load_config(directory)

    with pytest.raises(BadInputError) as refused:
        drill_request(_drill_args(None, "2026-11-28T03:00"), config)

    assert str(refused.value) == (
        "--at: policy 'support' pages schedules in America/New_York and Europe/Berlin; "
        "add an offset, e.g. 2026-11-28T03:00Z or 2026-11-28T03:00+01:00"
    )
    assert drill_request(_drill_args(None, "2026-11-28T03:00+01:00"), config).at == datetime(
        2026, 11, 28, 2, 0, tzinfo=UTC
    )
