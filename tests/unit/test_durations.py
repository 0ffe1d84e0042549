"""Human-written durations: what parses, what is refused, and how it is written back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from escalation.durations import MAXIMUM, Duration, format_duration, parse_duration

HINT = 'write it like "45s", "15m" or "1h30m"'


class Timer(BaseModel):
    wait: Duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h", timedelta(days=1, hours=2)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 1H 30M ", timedelta(hours=1, minutes=30)),
        ("90m", timedelta(minutes=90)),
        ("1w", timedelta(weeks=1)),
        ("2w3d12h", timedelta(weeks=2, days=3, hours=12)),
    ],
)
def test_parses_human_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "15", "15x", "m", "-5m", "30m1h", "1d1w", "1.5h", "soon"])
def test_rejects_malformed_text_with_how_to_write_it(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration") as caught:
        parse_duration(text)
    assert HINT in str(caught.value)
    assert "largest first" in str(caught.value)


@pytest.mark.parametrize("text", ["0s", "0m", "0d0h0m0s"])
def test_rejects_zero_naming_the_minimum(text: str) -> None:
    with pytest.raises(ValueError, match=r"is too short: the smallest duration is 1s"):
        parse_duration(text)


@pytest.mark.parametrize("number", [15, 0, 1.5, -5])
def test_duration_field_rejects_bare_numbers(number: float) -> None:
    with pytest.raises(ValidationError) as caught:
        Timer.model_validate({"wait": number})
    message = str(caught.value)
    assert f"bare number {number!r} has no unit" in message
    assert HINT in message


@pytest.mark.parametrize("value", [True, None, ["15m"]])
def test_duration_field_rejects_other_types(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Timer.model_validate({"wait": value})
    assert f"{value!r} is not a duration" in str(caught.value)
    assert HINT in str(caught.value)


def test_duration_field_rejects_timedelta_under_one_second() -> None:
    with pytest.raises(ValidationError, match="the smallest duration is 1s"):
        Timer(wait=timedelta(milliseconds=500))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=15), "15m"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=1, hours=2), "1d2h"),
        (timedelta(days=2, seconds=1), "2d1s"),
        (timedelta(0), "0s"),
    ],
)
def test_formats_the_way_policies_are_written(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.integers(min_value=1, max_value=int(MAXIMUM.total_seconds())))
def test_format_then_parse_round_trips(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


@given(st.integers(min_value=1, max_value=int(MAXIMUM.total_seconds())))
def test_formatted_text_is_canonical(seconds: int) -> None:
    text = format_duration(timedelta(seconds=seconds))
    assert format_duration(parse_duration(text)) == text


def test_duration_field_serialises_to_text_in_json_mode() -> None:
    timer = Timer.model_validate({"wait": "90m"})
    assert timer.wait == timedelta(hours=1, minutes=30)
    assert timer.model_dump(mode="json") == {"wait": "1h30m"}
    assert timer.model_dump_json() == '{"wait":"1h30m"}'
    assert Timer.model_validate_json(timer.model_dump_json()) == timer


def test_duration_field_stays_a_timedelta_in_python_mode() -> None:
    assert Timer.model_validate({"wait": "45s"}).model_dump() == {"wait": timedelta(seconds=45)}


@pytest.mark.parametrize("text", ["366d", "100000000000000s", "99999999999999999999d"])
def test_absurdly_long_duration_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="is too long: the longest duration is 365d"):
        parse_duration(text)


def test_weeks_are_written_back_as_days() -> None:
    assert format_duration(parse_duration("1w")) == "7d"
