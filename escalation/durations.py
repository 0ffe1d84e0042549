"""Human-written durations such as ``45s``, ``15m``, ``1h30m`` or ``1w``.

Policies are edited by people, so durations are written the way people say them and
validated strictly: a typo must fail loudly instead of becoming a zero-second timeout.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

MINIMUM = timedelta(seconds=1)
MAXIMUM = timedelta(days=365)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
"""Units written back; weeks are read (a weekly rotation is ``1w``) but written as days."""
_READ_UNITS = {"w": 7 * 86400, **_UNITS}
_PATTERN = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_HINT = 'write it like "45s", "15m" or "1h30m" (units w, d, h, m, s, largest first)'


def parse_duration(text: str) -> timedelta:
    """Parse ``"1h30m"`` into a timedelta; raise ValueError naming the fix."""
    cleaned = text.strip().lower().replace(" ", "")
    match = _PATTERN.fullmatch(cleaned)
    if not cleaned or not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration: {_HINT}")
    seconds = sum(
        int(value) * _READ_UNITS[unit]
        for unit, value in zip(_READ_UNITS, match.groups(), strict=True)
        if value
    )
    if seconds < MINIMUM.total_seconds():
        raise ValueError(f"{text!r} is too short: the smallest duration is 1s")
    if seconds > MAXIMUM.total_seconds():
        raise ValueError(f"{text!r} is too long: the longest duration is {format_duration(MAXIMUM)}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Render a timedelta the way it would be written in a policy file."""
    remaining = int(value.total_seconds())
    if remaining == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _coerce(value: object) -> timedelta:
    if isinstance(value, timedelta):
        if value < MINIMUM:
            raise ValueError(f"{format_duration(value)!r} is too short: the smallest duration is 1s")
        return value
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a duration: {_HINT}")
    raise ValueError(f"bare number {value!r} has no unit: {_HINT}")


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A policy duration: parsed from text, at least one second, written back as text."""
