"""Schedules: who is on call when, from layers, restrictions and overrides, across daylight saving."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from escalation.schedules import Schedule, coverage_gaps, moment, on_call, shifts

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def schedule(zone: str = "Europe/Berlin", *layers: dict[str, Any], **more: Any) -> Schedule:
    return Schedule.model_validate({"name": "team", "time_zone": zone, "layers": list(layers), **more})


def rotation(
    people: list[str], length: str = "1w", first: str = "2026-01-05T09:00", **more: Any
) -> dict[str, Any]:
    return {"participants": people, "shift_length": length, "first_handoff": first, **more}


def local(zone: ZoneInfo, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def wall(shift_time: datetime, zone: ZoneInfo) -> str:
    return shift_time.astimezone(zone).strftime("%a %H:%M")


# Spring forward and fall back, in a zone that changes at 02:00 and one that changes at 01:00 UTC.
TRANSITIONS = [
    pytest.param("Europe/Berlin", "2026-03-23", id="Berlin spring forward (29 March)"),
    pytest.param("Europe/Berlin", "2026-10-19", id="Berlin fall back (25 October)"),
    pytest.param("America/New_York", "2026-03-02", id="New York spring forward (8 March)"),
    pytest.param("America/New_York", "2026-10-26", id="New York fall back (1 November)"),
]


@pytest.mark.parametrize(("zone", "monday"), TRANSITIONS)
def test_a_weekly_hand_off_stays_at_nine_local_across_the_change(zone: str, monday: str) -> None:
    team = schedule(zone, rotation(["ana", "ben"], "1w", f"{monday}T09:00"))
    tz = ZoneInfo(zone)
    start = local(tz, f"{monday}T09:00")
    found = shifts(team, start, start + timedelta(weeks=3))
    assert [s.responder for s in found] == ["ana", "ben", "ana"]
    assert [wall(s.start, tz) for s in found] == ["Mon 09:00"] * 3
    assert [wall(s.end, tz) for s in found] == ["Mon 09:00"] * 3
    lengths = {(s.end - s.start) / timedelta(hours=1) for s in found}
    assert lengths == {168, 167} or lengths == {168, 169}  # the week with the change is an hour off


@pytest.mark.parametrize(("zone", "monday"), TRANSITIONS)
def test_twelve_hour_shifts_keep_their_wall_clock_and_none_is_dropped(zone: str, monday: str) -> None:
    team = schedule(zone, rotation(["day", "night"], "12h", f"{monday}T09:00"))
    tz = ZoneInfo(zone)
    start = local(tz, f"{monday}T09:00")
    found = shifts(team, start, start + timedelta(days=7))
    assert [s.responder for s in found] == ["day", "night"] * 7
    assert {wall(s.start, tz)[4:] for s in found} == {"09:00", "21:00"}
    assert not coverage_gaps(team, start, start + timedelta(days=7))


def test_a_hand_off_in_the_spring_forward_gap_happens_after_it_and_keeps_its_turn() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026: read with the offset before the gap (RFC 5545).
    team = schedule("Europe/Berlin", rotation(["ana", "ben", "sam"], "1d", "2026-03-27T02:30"))
    found = shifts(team, local(BERLIN, "2026-03-27T02:30"), local(BERLIN, "2026-03-31T02:30"))
    assert [s.responder for s in found] == ["ana", "ben", "sam", "ana"]
    assert [s.start.astimezone(BERLIN).strftime("%d %H:%M") for s in found] == [
        "27 02:30",
        "28 02:30",
        "29 03:30",
        "30 02:30",
    ]


def test_a_hand_off_in_the_repeated_fall_back_hour_is_its_first_occurrence() -> None:
    team = schedule("Europe/Berlin", rotation(["ana", "ben"], "1d", "2026-10-24T02:30"))
    first_half_past_two = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert on_call(team, first_half_past_two - timedelta(seconds=1)) == ["ana"]
    assert on_call(team, first_half_past_two) == ["ben"]
    assert on_call(team, first_half_past_two + timedelta(hours=1)) == ["ben"]  # 02:30 CET, the second one


def test_nobody_is_on_call_before_the_first_hand_off() -> None:
    team = schedule("UTC", rotation(["ana"], "1d", "2026-01-05T09:00"))
    assert on_call(team, datetime(2026, 1, 5, 8, 59, tzinfo=UTC)) == []
    assert on_call(team, datetime(2026, 1, 5, 9, tzinfo=UTC)) == ["ana"]
    gaps = coverage_gaps(team, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC))
    assert gaps == [(datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 5, 9, tzinfo=UTC))]


BUSINESS_HOURS = {"weekdays": WEEKDAYS, "start": "09:00", "end": "17:00"}


def test_a_later_layer_wins_where_it_has_someone_and_the_earlier_one_covers_the_rest() -> None:
    team = schedule(
        "Europe/Berlin",
        rotation(["ana", "ben"]),
        rotation(["sofia"], "1d", restrictions=BUSINESS_HOURS),
    )
    assert on_call(team, local(BERLIN, "2026-01-07T10:00")) == ["sofia"]  # Wednesday, office hours
    assert on_call(team, local(BERLIN, "2026-01-07T17:00")) == ["ana"]
    assert on_call(team, local(BERLIN, "2026-01-10T10:00")) == ["ana"]  # Saturday
    assert on_call(team, local(BERLIN, "2026-01-12T10:00")) == ["sofia"]
    assert on_call(team, local(BERLIN, "2026-01-12T08:59")) == ["ana"]
    assert on_call(team, local(BERLIN, "2026-01-12T09:00")) == ["sofia"]  # ben's week, behind sofia
    assert on_call(team, local(BERLIN, "2026-01-12T17:00")) == ["ben"]


def test_a_window_across_midnight_belongs_to_the_day_it_starts() -> None:
    night = {"weekdays": ["fri"], "start": "22:00", "end": "06:00"}
    team = schedule("Asia/Tokyo", rotation(["kenji"], "1w", "2026-01-05T00:00", restrictions=night))
    tokyo = ZoneInfo("Asia/Tokyo")
    on = ["2026-01-09T22:00", "2026-01-10T03:00", "2026-01-10T05:59"]
    off = ["2026-01-09T21:59", "2026-01-10T06:00", "2026-01-10T22:00", "2026-01-09T03:00"]
    assert [on_call(team, local(tokyo, t)) for t in on] == [["kenji"]] * 3
    assert [on_call(team, local(tokyo, t)) for t in off] == [[]] * 4


def test_follow_the_sun_layers_cover_the_day_between_them() -> None:
    team = schedule(
        "UTC",
        rotation(["emea"], "1d", "2026-01-05T00:00", restrictions={"start": "06:00", "end": "18:00"}),
        rotation(["apac"], "1d", "2026-01-05T00:00", restrictions={"start": "18:00", "end": "06:00"}),
    )
    start = datetime(2026, 1, 5, 6, tzinfo=UTC)
    found = shifts(team, start, start + timedelta(days=2))
    assert [(s.responder, s.start.hour, s.end.hour) for s in found] == [
        ("emea", 6, 18),
        ("apac", 18, 6),
        ("emea", 6, 18),
        ("apac", 18, 6),
    ]
    assert coverage_gaps(team, start, start + timedelta(days=2)) == []


def test_an_override_wins_over_every_layer() -> None:
    swap = {"start": "2026-01-07T12:00", "end": "2026-01-08T12:00", "responder": "sam"}
    team = schedule(
        "Europe/Berlin",
        rotation(["ana"]),
        rotation(["sofia"], "1d", restrictions=BUSINESS_HOURS),
        overrides=[swap],
    )
    assert on_call(team, local(BERLIN, "2026-01-07T11:59")) == ["sofia"]
    assert on_call(team, local(BERLIN, "2026-01-07T12:00")) == ["sam"]
    assert on_call(team, local(BERLIN, "2026-01-07T20:00")) == ["sam"]
    assert on_call(team, local(BERLIN, "2026-01-08T12:00")) == ["sofia"]


def test_an_override_that_replaces_someone_applies_only_while_they_are_on_call() -> None:
    cover = {"start": "2026-01-07T00:00", "end": "2026-01-09T00:00", "responder": "sam", "replaces": "ana"}
    team = schedule(
        "Europe/Berlin",
        rotation(["ana"]),
        rotation(["sofia"], "1d", restrictions=BUSINESS_HOURS),
        overrides=[cover],
    )
    assert on_call(team, local(BERLIN, "2026-01-07T08:00")) == ["sam"]
    assert on_call(team, local(BERLIN, "2026-01-07T10:00")) == ["sofia"]  # ana is not on call then
    assert on_call(team, local(BERLIN, "2026-01-07T18:00")) == ["sam"]
    assert on_call(team, local(BERLIN, "2026-01-09T00:00")) == ["ana"]


def test_a_later_override_wins_where_overrides_overlap() -> None:
    team = schedule(
        "UTC",
        rotation(["ana"]),
        overrides=[
            {"start": "2026-01-07T00:00", "end": "2026-01-08T00:00", "responder": "ben"},
            {"start": "2026-01-07T12:00", "end": "2026-01-07T13:00", "responder": "sam"},
            {"start": "2026-01-07T00:00", "end": "2026-01-08T00:00", "responder": "kim", "replaces": "ana"},
        ],
    )
    assert on_call(team, datetime(2026, 1, 7, 11, tzinfo=UTC)) == ["ben"]  # kim replaces ana, not ben
    assert on_call(team, datetime(2026, 1, 7, 12, tzinfo=UTC)) == ["sam"]


def test_shifts_can_be_one_responders_and_merge_across_layers() -> None:
    tuesday_morning = {"weekdays": ["tue"], "start": "00:00", "end": "12:00"}
    team = schedule(
        "UTC",
        rotation(["ana", "ben"], "1d", "2026-01-05T00:00"),
        rotation(["ana"], "1d", "2026-01-05T00:00", restrictions=tuesday_morning),
    )
    start = datetime(2026, 1, 5, tzinfo=UTC)
    mine = shifts(team, start, start + timedelta(days=4), responder="ana")
    assert [(s.start, s.end) for s in mine] == [
        (start, start + timedelta(days=1, hours=12)),  # Monday's turn, then Tuesday morning's layer
        (start + timedelta(days=2), start + timedelta(days=3)),
    ]
    assert shifts(team, start, start + timedelta(days=4), responder="nobody-here") == []


def test_a_time_without_a_zone_is_refused() -> None:
    team = schedule("UTC", rotation(["ana"]))
    with pytest.raises(ValueError, match="pass an aware datetime"):
        on_call(team, datetime(2026, 1, 7, 12))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T03:00", datetime(2026, 11, 28, 8, tzinfo=UTC)),
        ("2026-11-28 03:00", datetime(2026, 11, 28, 8, tzinfo=UTC)),
        ("2026-11-28T08:00Z", datetime(2026, 11, 28, 8, tzinfo=UTC)),
        ("2026-11-28T09:00+01:00", datetime(2026, 11, 28, 8, tzinfo=UTC)),
    ],
)
def test_typed_times_are_local_to_the_schedule_unless_they_say(text: str, expected: datetime) -> None:
    assert moment(text, NEW_YORK) == expected


@pytest.mark.parametrize(
    ("text", "fix"), [("saturday", "write it like 2026-11-28T03:00"), ("0001-01-01", "1971")]
)
def test_an_unreadable_time_says_how_to_write_it(text: str, fix: str) -> None:
    with pytest.raises(ValueError, match=fix):
        moment(text, NEW_YORK)


def problem(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Schedule.model_validate({"name": "team", "time_zone": "UTC", "layers": [rotation(["ana"])]} | data)
    return str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "is not a time zone; use an IANA name such as 'Europe/Berlin'"),
        ({"layers": []}, "at least 1 item"),
        ({"layers": [rotation([])]}, "at least 1 item"),
        ({"layers": [rotation(["ana"], "30m")]}, "'30m' is too short; a shift lasts at least 1h"),
        ({"layers": [rotation(["ana"], "1w", "2026-01-05T09:00+01:00")]}, "write the local wall-clock time"),
        ({"layers": [rotation(["ana"], restrictions={"weekdays": []})]}, "at least 1 item"),
        ({"layers": [rotation(["ana"], restrictions={"weekdays": ["someday"]})]}, "'mon', 'tue'"),
        ({"layers": [rotation(["ana"], restrictions={"start": "09:00"})]}, "give both start and end"),
        (
            {"layers": [rotation(["ana"], restrictions={"start": "09:00", "end": "09:00"})]},
            "a window that leaves nobody on call",
        ),
        (
            {"layers": [rotation(["ana"], restrictions={"start": 1050, "end": "18:00"})]},
            "write the time in quotes",
        ),
        (
            {"overrides": [{"start": "2026-01-07T12:00", "end": "2026-01-07T12:00", "responder": "ben"}]},
            "end is not after start",
        ),
        (
            {
                "overrides": [
                    {"start": "2026-01-07", "end": "2026-01-08", "responder": "ben", "replaces": "ben"}
                ]
            },
            "ben replaces themselves",
        ),
        ({"layers": [rotation(["ana"], shift="1w")]}, "Extra inputs are not permitted"),
    ],
)
def test_a_schedule_that_cannot_work_is_refused_with_the_fix(data: dict[str, Any], message: str) -> None:
    assert message in problem(data)


def test_weekdays_are_read_in_any_case_and_weeks_as_shift_lengths() -> None:
    team = schedule("UTC", rotation(["ana"], "2w", restrictions={"weekdays": ["Sat", "SUN"]}))
    assert team.layers[0].shift_length == timedelta(weeks=2)
    assert team.layers[0].restrictions and team.layers[0].restrictions.weekdays == ["sat", "sun"]


# Random schedules: the shifts and the gaps tile the window, and agree with on_call everywhere.
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
CLOCK = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 30]))
RESTRICTIONS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"weekdays": st.lists(st.sampled_from([*WEEKDAYS, "sat", "sun"]), min_size=1, unique=True)}
    ),
    st.tuples(CLOCK, CLOCK).filter(lambda w: w[0] != w[1]).map(lambda w: {"start": w[0], "end": w[1]}),
)
LAYER = st.builds(
    lambda people, hours, first, limits: rotation(
        people,
        f"{hours}h",
        f"2026-{first[0]:02d}-{first[1]:02d}T{first[2]}",
        **({"restrictions": limits} if limits else {}),
    ),
    st.lists(st.sampled_from(["ana", "ben", "sam", "kim"]), min_size=1, max_size=3),
    st.sampled_from([1, 5, 8, 12, 24, 36, 168]),
    st.tuples(st.integers(1, 12), st.integers(1, 28), CLOCK),
    RESTRICTIONS,
)
OVERRIDE = st.builds(
    lambda day, hours, who, replaces: {
        "start": f"2026-03-{day:02d}T02:30",
        "end": f"2026-03-{day + hours // 24 + 1:02d}T01:00",
        "responder": who,
        **({"replaces": replaces} if replaces and replaces != who else {}),
    },
    st.integers(1, 27),
    st.integers(0, 24),
    st.sampled_from(["ana", "lee"]),
    st.sampled_from([None, "ben", "ana"]),
)


@settings(max_examples=100, deadline=None)
@given(
    zone=ZONES,
    layers=st.lists(LAYER, min_size=1, max_size=3),
    overrides=st.lists(OVERRIDE, max_size=2),
    start=st.datetimes(datetime(2026, 2, 20), datetime(2026, 4, 10), timezones=st.just(UTC)),
    days=st.integers(1, 10),
    probes=st.lists(st.integers(0, 10 * 86400 - 1), max_size=8),
)
def test_shifts_and_gaps_tile_the_window_and_agree_with_on_call(
    zone: str,
    layers: list[dict[str, Any]],
    overrides: list[dict[str, Any]],
    start: datetime,
    days: int,
    probes: list[int],
) -> None:
    team = schedule(zone, *layers, overrides=overrides)
    end = start + timedelta(days=days)
    pieces = sorted(
        [(s.start, s.end, s.responder) for s in shifts(team, start, end)]
        + [(a, b, None) for a, b in coverage_gaps(team, start, end)]
    )
    assert pieces[0][0] == start and pieces[-1][1] == end
    assert all(a < b for a, b, _ in pieces)
    assert all(earlier[1] == later[0] for earlier, later in itertools.pairwise(pieces))
    for probe in [start, *(start + timedelta(seconds=p % (days * 86400)) for p in probes)]:
        _, _, who = next(piece for piece in pieces if piece[0] <= probe < piece[1])
        assert on_call(team, probe) == ([who] if who else [])
