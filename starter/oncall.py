"""``escalate oncall``: who is on call now (or at a time) per schedule, the next shifts with their
hand-off times in each schedule's zone, or one schedule's shifts as an iCalendar feed; and the
coverage warnings ``escalate check`` prints."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from escalation.config import SCHEDULE_DIR, Config, load_config
from escalation.durations import format_duration
from escalation.schedules import Schedule, Shift, coverage_gaps, moment, on_call, shifts
from escalation.settings import Settings
from escalation.text import for_terminal
from starter.calendar_feed import FEED_DAYS, days_ahead, feed_start, known_responder, shift_feed
from starter.errors import BadInputError

DEFAULT_DAYS = 7
CHECK_WEEKS = 4
MAX_GAPS_LISTED = 10
T = TypeVar("T")


def add_oncall_command(commands: argparse._SubParsersAction) -> None:
    oncall = commands.add_parser(
        "oncall", help="who is on call now or at a time, the next shifts, or a schedule's iCalendar feed"
    )
    oncall.add_argument("schedule", nargs="?", help="one schedule (default: every schedule)")
    oncall.add_argument(
        "--at",
        metavar="TIME",
        help="instead of now: e.g. 2026-11-28T03:00 (each schedule's local time) or 2026-11-28T08:00Z",
    )
    oncall.add_argument(
        "--days",
        type=int,
        help=f"how many days of shifts to show (default {DEFAULT_DAYS}; {FEED_DAYS} for --ics)",
    )
    oncall.add_argument("--responder", metavar="R", help="only this responder's shifts")
    output = oncall.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print it as JSON")
    output.add_argument("--ics", action="store_true", help="print the schedule's shifts as an iCalendar feed")
    oncall.set_defaults(run=run_oncall)


def _option(flag: str, parse: Callable[[], T]) -> T:
    try:
        return parse()
    except ValueError as error:
        raise BadInputError(f"{flag}: {error}") from None


def _chosen(config: Config, name: str | None, ics: bool) -> list[Schedule]:
    known = ", ".join(sorted(config.schedules)) or "(none defined)"
    if name is None:
        if ics:
            raise BadInputError(
                f"--ics: name the schedule, e.g. 'escalate oncall NAME --ics'; use one of: {known}"
            )
        return [config.schedules[n] for n in sorted(config.schedules)]
    if name not in config.schedules:
        raise BadInputError(f"schedule {name!r} does not exist; use one of: {known}")
    return [config.schedules[name]]


@dataclass(frozen=True)
class _Window:
    """One schedule from ``at`` for a while: who is on call then, the shifts and the gaps after."""

    schedule: Schedule
    at: datetime
    on_call: list[str]
    shifts: list[Shift]
    gaps: list[tuple[datetime, datetime]]

    def json(self) -> dict[str, Any]:
        """What ``--json`` prints; times carry the schedule zone's offset."""
        local = self.schedule.zone
        return {
            "name": self.schedule.name,
            "time_zone": self.schedule.time_zone,
            "description": self.schedule.description,
            "at": self.at.astimezone(local).isoformat(),
            "on_call": self.on_call,
            "shifts": [
                {
                    "responder": s.responder,
                    "start": s.start.astimezone(local).isoformat(),
                    "end": s.end.astimezone(local).isoformat(),
                }
                for s in self.shifts
            ],
            "gaps": [
                {"start": a.astimezone(local).isoformat(), "end": b.astimezone(local).isoformat()}
                for a, b in self.gaps
            ],
        }

    def text(self) -> str:
        schedule = self.schedule
        rows = sorted(
            [(s.start, s.end, s.responder) for s in self.shifts] + [(a, b, "nobody") for a, b in self.gaps]
        )
        lines = [
            f"{schedule.name} ({schedule.time_zone})"
            + (f": {schedule.description}" if schedule.description else ""),
            f"  on call at {_clock(schedule, self.at)}: {', '.join(self.on_call) or 'nobody'}",
            "  shifts:" if rows else "  no shifts in this window",
        ]
        lines += [f"    {_clock(schedule, a)}  to  {_clock(schedule, b)}  {who}" for a, b, who in rows]
        return "\n".join(lines)


def _clock(schedule: Schedule, at: datetime) -> str:
    """``Sat 2026-11-28 03:00 EST``: a time as the schedule's people read it."""
    return at.astimezone(schedule.zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _window(schedule: Schedule, at: datetime, length: timedelta, responder: str | None) -> _Window:
    end = at + length
    gaps = [] if responder else coverage_gaps(schedule, at, end)
    return _Window(schedule, at, on_call(schedule, at), shifts(schedule, at, end, responder), gaps)


async def run_oncall(args: argparse.Namespace, settings: Settings) -> None:
    config = load_config(settings.config_dir, with_channels=False)
    chosen = _chosen(config, args.schedule, args.ics)
    length = _option(
        "--days",
        lambda: days_ahead(args.days if args.days is not None else FEED_DAYS if args.ics else DEFAULT_DAYS),
    )
    if not chosen:
        print(f"no schedules in {settings.config_dir / SCHEDULE_DIR}; add one (see docs/configuration.md)")
        return
    windows = []
    for schedule in chosen:
        at = _option("--at", lambda s=schedule: moment(args.at, s.zone)) if args.at else datetime.now(UTC)
        responder = None
        if args.responder is not None:
            responder = _option(
                "--responder", lambda s=schedule: known_responder(s, config.roster, args.responder)
            )
        if args.ics:
            feed = shift_feed(
                schedule, feed_start(schedule, at), at + length, roster=config.roster, responder=responder
            )
            sys.stdout.write(feed.decode())
            return
        windows.append(_window(schedule, at, length, responder))
    if args.json:
        print(json.dumps({"schedules": [w.json() for w in windows]}, indent=2))
    else:
        print(for_terminal("\n\n".join(w.text() for w in windows), multiline=True))


def coverage_warnings(config: Config, now: datetime) -> Iterable[str]:
    """For ``escalate check``: when each schedule has nobody on call in the next four weeks."""
    end = now + timedelta(weeks=CHECK_WEEKS)
    for name, schedule in sorted(config.schedules.items()):
        gaps = coverage_gaps(schedule, now, end)
        if not gaps:
            continue
        total = sum((b - a for a, b in gaps), timedelta()) // timedelta(minutes=1)
        yield (
            f"warning: schedule {name} has nobody on call for {format_duration(timedelta(minutes=total))} "
            f"in the next {CHECK_WEEKS} weeks "
            f"({schedule.time_zone}); add a layer or an override to cover:"
        )
        for a, b in gaps[:MAX_GAPS_LISTED]:
            yield f"  {_clock(schedule, a)}  to  {_clock(schedule, b)}"
        if len(gaps) > MAX_GAPS_LISTED:
            yield f"  and {len(gaps) - MAX_GAPS_LISTED} more"
