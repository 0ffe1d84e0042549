"""An on-call schedule as an iCalendar feed (RFC 5545), so people see their shifts in their calendar.

One event per shift, in the schedule's zone (with its VTIMEZONE), each with a UID that stays the
same from one fetch to the next, so a calendar app updates shifts instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from escalation.models import Roster
from escalation.schedules import Schedule, Shift, shifts

FEED_DAYS = 28
"""How far ahead a feed reaches by default: the four weeks ``escalate check`` looks at."""
MAX_DAYS = 366


def days_ahead(value: int) -> timedelta:
    """``value`` days as a window length, or a ValueError saying which are allowed."""
    if not 1 <= value <= MAX_DAYS:
        raise ValueError(f"{value} is out of range; use 1 to {MAX_DAYS} days")
    return timedelta(days=value)


def known_responder(schedule: Schedule, roster: Roster, responder: str) -> str:
    """``responder`` if the schedule can put them on call, else a ValueError naming who it can."""
    if responder not in schedule.responders:
        where = "is not in the roster" if responder not in roster.responders else "takes no shifts here"
        raise ValueError(
            f"{responder!r} {where}; use one of schedule {schedule.name}'s responders: "
            f"{', '.join(sorted(schedule.responders))}"
        )
    return responder


def feed_start(schedule: Schedule, at: datetime) -> datetime:
    """The start of ``at``'s day in the schedule's zone: the current shift keeps its UID all day."""
    return schedule.instant(schedule.wall(at).replace(hour=0, minute=0, second=0, microsecond=0))


def shift_feed(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    *,
    roster: Roster,
    responder: str | None = None,
) -> bytes:
    """The shifts in [start, end) (only ``responder``'s if given) as an iCalendar file."""
    calendar = Calendar()
    calendar.add("prodid", "-//escalation-orchestrator//on-call schedules//EN")
    calendar.add("version", "2.0")
    title = f"On call: {schedule.name}" + (f" ({responder})" if responder else "")
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-timezone", schedule.time_zone)
    for event in _events(schedule, shifts(schedule, start, end, responder), roster):
        calendar.add_component(event)
    # the zone's rules for the feed's dates only (the default covers 1970 to 2038 and nothing after)
    calendar.add_missing_timezones(
        first_date=(start - timedelta(days=1)).date(), last_date=(end + timedelta(days=1)).date()
    )
    return calendar.to_ical()


def _events(schedule: Schedule, found: Iterable[Shift], roster: Roster) -> Iterable[Event]:
    stamp = datetime.now(UTC)
    for shift in found:
        name = f"{roster.responders[shift.responder].name} ({shift.responder})"  # the roster has everyone
        event = Event()
        event.add("uid", f"{schedule.name}.{shift.responder}.{shift.start:%Y%m%dT%H%M%SZ}@escalation")
        event.add("dtstamp", stamp)
        event.add("dtstart", shift.start.astimezone(schedule.zone))
        event.add("dtend", shift.end.astimezone(schedule.zone))
        event.add("summary", f"On call: {name} ({schedule.name})")
        event.add("transp", "TRANSPARENT")  # being on call does not make anyone busy
        yield event
