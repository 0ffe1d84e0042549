"""``GET /v1/schedules/{name}.ics``: a schedule's shifts as an iCalendar feed for a calendar app
(as ``escalate oncall NAME --ics``), for any responder's token; ``?responder=`` keeps one person's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Response

from starter.calendar_feed import FEED_DAYS, MAX_DAYS, days_ahead, feed_start, known_responder, shift_feed
from starter.web.door import DoorDep, detail

CALENDAR = "text/calendar; charset=utf-8"


def schedule_routes(app: FastAPI, authenticate: Callable[..., str]) -> None:
    """The route, for whoever ``authenticate`` (the app's responder-token check) lets in."""

    @app.get(
        "/v1/schedules/{name}.ics",
        tags=["responders"],
        summary="A schedule's shifts as an iCalendar feed",
        response_class=Response,
        responses={
            200: {"content": {CALENDAR: {}}, "description": "the shifts, from today for `days` days"},
            404: {"description": "no such schedule"},
            422: {"description": "a responder who takes no shifts in it, or days out of range"},
        },
        dependencies=[Depends(authenticate)],
    )
    async def schedule_feed(
        name: str,
        door: DoorDep,
        responder: Annotated[
            str | None,
            Query(description="only this responder's shifts (one of the schedule's responder ids)"),
        ] = None,
        days: Annotated[
            int, Query(ge=1, le=MAX_DAYS, description=f"how many days ahead, 1 to {MAX_DAYS}")
        ] = FEED_DAYS,
    ) -> Response:
        """The schedule's shifts from the start of today (in its zone) for `days` days, one event
        each, as `escalate oncall NAME --ics`."""
        schedule = door.config.schedules.get(name)
        if schedule is None:
            known = ", ".join(sorted(door.config.schedules)) or "(none defined)"
            raise detail(404, f"schedule {name!r} does not exist; use one of: {known}")
        if responder is not None:
            try:
                known_responder(schedule, door.config.roster, responder)
            except ValueError as error:
                raise detail(422, f"responder: {error}") from None
        now = datetime.now(UTC)
        feed = shift_feed(
            schedule,
            feed_start(schedule, now),
            now + days_ahead(days),
            roster=door.config.roster,
            responder=responder,
        )
        return Response(feed, media_type=CALENDAR, headers={"Cache-Control": "private, max-age=300"})
