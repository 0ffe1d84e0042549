"""``GET /v1/schedules/{name}.ics``: a schedule's shifts for a calendar app, with a responder token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import icalendar
import pytest

from escalation.config import load_config
from escalation.schedules import shifts
from escalation.settings import Settings
from starter.api import Escalations
from starter.web import create_app, tokens
from tests.web.conftest import API_SECRET, ENV, bearer, config_with_integrations


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app alone: the feed reads the configuration and never needs Temporal."""

    async def never() -> Escalations:
        raise AssertionError("the schedule feed must not connect to Temporal")

    app = create_app(Settings(config_dir=config_with_integrations(tmp_path)), never, ENV)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


def token(responder: str = "ana") -> dict[str, str]:
    return bearer(tokens.issue(responder, timedelta(hours=1), API_SECRET))


async def test_the_feed_is_the_schedules_shifts_from_the_start_of_today(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    response = await http.get("/v1/schedules/frontline.ics?days=3", headers=token())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.text)
    events = [(e.start.astimezone(UTC), e.end.astimezone(UTC)) for e in calendar.events]
    frontline = load_config(tmp_path / "config", with_channels=False).schedules["frontline"]
    midnight = frontline.wall(datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    expected = shifts(frontline, frontline.instant(midnight), events[-1][1])
    assert events == [(s.start, s.end) for s in expected]
    assert events[0][0] == frontline.instant(midnight)
    assert events[-1][1] - datetime.now(UTC) < timedelta(days=3)


async def test_one_responders_shifts_only(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/schedules/frontline.ics?responder=ben", headers=token("sofia"))
    assert response.status_code == 200
    events = icalendar.Calendar.from_ical(response.text).events
    assert events and {str(e["SUMMARY"]) for e in events} == {"On call: Ben Frontline (ben) (frontline)"}
    assert "ben@example.com" not in response.text and "+1555" not in response.text


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/v1/schedules/nope.ics", 404, "schedule 'nope' does not exist; use one of: frontline"),
        (
            "/v1/schedules/frontline.ics?responder=mgr-mia",
            422,
            "responder: 'mgr-mia' takes no shifts here; use one of schedule frontline's responders: ana, ben",
        ),
        (
            "/v1/schedules/frontline.ics?responder=zed",
            422,
            "responder: 'zed' is not in the roster; use one of",
        ),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_the_fix(
    http: httpx.AsyncClient, path: str, status: int, message: str
) -> None:
    response = await http.get(path, headers=token())
    assert response.status_code == status and response.json()["detail"].startswith(message)


async def test_days_out_of_range_are_refused(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/schedules/frontline.ics?days=400", headers=token())
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "days"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
async def test_the_feed_needs_a_responder_token(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.get("/v1/schedules/frontline.ics", headers=headers)
    assert response.status_code == 401 and "BEGIN:VCALENDAR" not in response.text
