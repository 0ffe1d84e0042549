"""On-call schedules: who is on call when, from rotations, their restrictions and overrides.

Semantics follow PagerDuty's: a schedule's layers are ordered and a later layer wins wherever it
has someone on call; overrides win over every layer. Every time in a schedule file is a local
wall-clock time in the schedule's zone, so a weekly 09:00 hand-off stays at 09:00 across
daylight-saving changes. A wall-clock time that does not exist (it falls in the spring-forward
gap) is read with the offset before the gap, as RFC 5545 reads such times; one that happens
twice (the fall-back hour) is its first occurrence.

The arithmetic is the standard library's (naive wall-clock steps, then ``zoneinfo``): the turn
at any instant is one division away, without iterating a recurrence from the first hand-off.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from escalation.durations import Duration, format_duration
from escalation.models import Identifier, Strict
from escalation.report_figures import time_zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as schedule files write them; the index is ``date.weekday()``."""
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EARLIEST, LATEST = datetime(1971, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
"""The instants a schedule is asked about: far from datetime's limits, where arithmetic overflows."""
MINIMUM_SHIFT = timedelta(hours=1)
"""Shorter shifts could be handed off in the wrong order across a daylight-saving change."""


def _unquoted_clock(value: object) -> object:
    """YAML 1.1 reads an unquoted ``17:30`` as the number 1050: say so rather than guess."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("is a number; write the time in quotes, e.g. '17:30' (YAML reads 17:30 as minutes)")
    return value


def _wall_clock(value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise ValueError(
            "has a UTC offset; write the local wall-clock time without one (e.g. '2026-11-02T09:00'): "
            "the zone is the schedule's time_zone"
        )
    if not EARLIEST.year < value.year < LATEST.year:
        raise ValueError(f"is out of range; use a year from {EARLIEST.year + 1} to {LATEST.year - 1}")
    return value


def _minutes(value: time) -> time:
    if value.second or value.microsecond or value.tzinfo is not None:
        raise ValueError("write hours and minutes only, e.g. '09:00'")
    return value


def _shift_length(value: timedelta) -> timedelta:
    if value < MINIMUM_SHIFT:
        raise ValueError(f"{format_duration(value)!r} is too short; a shift lasts at least 1h")
    return value


WallClock = Annotated[datetime, BeforeValidator(_unquoted_clock), AfterValidator(_wall_clock)]
"""A local date and time in the schedule's zone, e.g. ``2026-11-02T09:00``."""
ClockTime = Annotated[time, BeforeValidator(_unquoted_clock), AfterValidator(_minutes)]


def _zone_name(name: str) -> str:
    time_zone(name)
    return name


class Restrictions(Strict):
    """When a layer has someone: on ``weekdays``, from ``start`` to ``end`` local time.

    A window whose end is at or before its start crosses midnight (``22:00`` to ``06:00``), and
    belongs to the weekday it starts on. Without ``start`` and ``end``, whole days.
    """

    weekdays: list[Annotated[Weekday, BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)]] = (
        Field(default=list(WEEKDAYS), min_length=1)
    )
    start: ClockTime | None = None
    end: ClockTime | None = None

    @model_validator(mode="after")
    def _window(self) -> Restrictions:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end for a daily window, or neither for whole days")
        if self.start is not None and self.start == self.end:
            raise ValueError(
                "start and end are equal, a window that leaves nobody on call; "
                "omit both for whole days, or make end differ"
            )
        return self

    @property
    def _times(self) -> tuple[time, time]:
        """The daily window; whole days are a window from midnight to midnight."""
        return (self.start, self.end) if self.start and self.end else (time(0), time(0))

    def covers(self, wall: datetime) -> bool:
        """Whether the local wall-clock time ``wall`` is inside a window."""
        start, end = self._times
        today = WEEKDAYS[wall.weekday()] in self.weekdays
        if start < end:
            return today and start <= wall.time() < end
        yesterday = WEEKDAYS[(wall.weekday() - 1) % 7] in self.weekdays
        return (today and wall.time() >= start) or (yesterday and wall.time() < end)

    def edges(self, day: date) -> list[datetime]:
        """The wall-clock start and end of the window beginning on ``day``, if it has one."""
        if WEEKDAYS[day.weekday()] not in self.weekdays:
            return []
        start, end = self._times
        opens = datetime.combine(day, start)
        return [opens, datetime.combine(day + timedelta(days=1 if end <= start else 0), end)]


class Layer(Strict):
    """A rotation: ``participants`` take turns of ``shift_length``, the first from ``first_handoff``."""

    name: Identifier | None = None
    participants: list[Identifier] = Field(min_length=1)
    shift_length: Annotated[Duration, AfterValidator(_shift_length)]
    first_handoff: WallClock
    restrictions: Restrictions | None = None


class Override(Strict):
    """``responder`` is on call from ``start`` to ``end`` (local times); with ``replaces``, only
    instead of that responder and only while they are on call."""

    start: WallClock
    end: WallClock
    responder: Identifier
    replaces: Identifier | None = None

    @model_validator(mode="after")
    def _order(self) -> Override:
        if self.end <= self.start:
            raise ValueError("end is not after start; an override ends after it starts")
        if self.replaces == self.responder:
            raise ValueError(
                f"{self.responder} replaces themselves; name someone else in replaces or drop it"
            )
        return self


class Schedule(Strict):
    name: Identifier
    description: str = ""
    time_zone: Annotated[str, AfterValidator(_zone_name)]
    layers: list[Layer] = Field(min_length=1)
    overrides: list[Override] = Field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def instant(self, wall: datetime) -> datetime:
        """A local wall-clock time of this schedule as an aware UTC datetime."""
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def wall(self, at: datetime) -> datetime:
        """An aware instant as this schedule's naive local wall-clock time."""
        return at.astimezone(self.zone).replace(tzinfo=None)

    @property
    def responders(self) -> set[str]:
        """Everyone the schedule can put on call."""
        return {p for layer in self.layers for p in layer.participants} | {
            o.responder for o in self.overrides
        }


class Shift(Strict):
    """``responder`` is on call from ``start`` to ``end`` (aware, UTC)."""

    responder: str
    start: datetime
    end: datetime


def moment(text: str, zone: tzinfo) -> datetime:
    """A time typed by someone (``2026-11-28T03:00`` local to ``zone``, or with an offset or ``Z``)
    as an aware UTC instant; a ValueError says what to write."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time; write it like 2026-11-28T03:00 (local time) or 2026-11-28T08:00Z"
        ) from None
    at = parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
    if not EARLIEST <= at < LATEST:
        raise ValueError(f"{text!r} is out of range; use a year from {EARLIEST.year} to {LATEST.year - 1}")
    return at.astimezone(UTC)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a time without a zone is ambiguous; pass an aware datetime")
    return at.astimezone(UTC)


def _handoff(schedule: Schedule, layer: Layer, turn: int) -> datetime:
    return schedule.instant(layer.first_handoff + turn * layer.shift_length)


def _turn(schedule: Schedule, layer: Layer, at: datetime) -> int:
    """The number of the turn under way at ``at`` (negative before the first hand-off)."""
    turn = (schedule.wall(at) - layer.first_handoff) // layer.shift_length
    while _handoff(schedule, layer, turn) > at:
        turn -= 1
    while _handoff(schedule, layer, turn + 1) <= at:
        turn += 1
    return turn


def _layer_on_call(schedule: Schedule, layer: Layer, at: datetime) -> str | None:
    turn = _turn(schedule, layer, at)
    if turn < 0 or (layer.restrictions and not layer.restrictions.covers(schedule.wall(at))):
        return None
    return layer.participants[turn % len(layer.participants)]


def on_call(schedule: Schedule, at: datetime) -> list[str]:
    """The responder ids on call at the aware instant ``at``: the last layer with someone, then
    the overrides in their order (a later one wins where they overlap). Empty: nobody."""
    at = _aware(at)
    people = next(
        ([who] for layer in reversed(schedule.layers) if (who := _layer_on_call(schedule, layer, at))), []
    )
    for override in schedule.overrides:
        if not schedule.instant(override.start) <= at < schedule.instant(override.end):
            continue
        if override.replaces is None:
            people = [override.responder]
        elif override.replaces in people:
            people = [override.responder if p == override.replaces else p for p in people]
    return list(dict.fromkeys(people))


def _changes(schedule: Schedule, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every instant in [start, end) where who is on call may change (a superset)."""
    first_day, last_day = schedule.wall(start).date(), schedule.wall(end).date()
    for layer in schedule.layers:
        turn = max(_turn(schedule, layer, start), 0)
        while (handoff := _handoff(schedule, layer, turn)) < end:
            yield handoff
            turn += 1
        if layer.restrictions:
            day = first_day - timedelta(days=1)
            while day <= last_day:
                yield from (schedule.instant(edge) for edge in layer.restrictions.edges(day))
                day += timedelta(days=1)
    for override in schedule.overrides:
        yield schedule.instant(override.start)
        yield schedule.instant(override.end)


def _segments(
    schedule: Schedule, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, list[str]]]:
    """[start, end) cut where on-call changes, each piece with who is on call throughout it."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        raise ValueError("end is not after start")
    cuts = sorted({start, end, *(c for c in _changes(schedule, start, end) if start < c < end)})
    return [(a, b, on_call(schedule, a)) for a, b in pairwise(cuts)]


def shifts(schedule: Schedule, start: datetime, end: datetime, responder: str | None = None) -> list[Shift]:
    """The shifts of the final schedule in [start, end) (clipped to it), in order of start;
    only ``responder``'s if given. A shift runs as long as its responder stays on call."""
    found: list[Shift] = []
    open_since: dict[str, datetime] = {}
    for a, _, people in _segments(schedule, start, end):
        for person in [p for p in open_since if p not in people]:
            found.append(Shift(responder=person, start=open_since.pop(person), end=a))
        for person in people:
            open_since.setdefault(person, a)
    found += [Shift(responder=p, start=since, end=_aware(end)) for p, since in open_since.items()]
    found.sort(key=lambda s: (s.start, s.responder))
    return [s for s in found if responder is None or s.responder == responder]


def coverage_gaps(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The periods in [start, end) when nobody is on call, merged, in order (aware, UTC)."""
    gaps: list[tuple[datetime, datetime]] = []
    for a, b, people in _segments(schedule, start, end):
        if people:
            continue
        if gaps and gaps[-1][1] == a:
            gaps[-1] = (gaps[-1][0], b)
        else:
            gaps.append((a, b))
    return gaps
