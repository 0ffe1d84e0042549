"""``GET /v1/incidents/{id}/similar``: the past incidents most like an open one, from the store
the workers write; an unknown incident is 404 and a failing store 503, never its address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from escalation import ladder
from escalation.actions import ResolveRequest
from escalation.models import Incident
from escalation.settings import Settings
from starter.api import Escalations
from starter.web.app import create_app
from tests.ports import free_port
from tests.support import incident, start_input
from tests.web.conftest import ENV, Api
from tests.web.test_ingest import trigger

T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
CAUSE = "Connection pool exhausted by the nightly batch job"


def closed_out(api: Api, past: Incident, root_cause: str) -> str:
    """A finished escalation of ``past`` in the record store, as a close-out writes it."""
    start = start_input(i=past)
    state = ladder.begin(start, T0)
    resolution = ResolveRequest(responder="ana", summary="fixed", root_cause=root_cause)
    ladder.resolve(state, start.policy, resolution, T0 + timedelta(minutes=30))
    incident_id = f"incident:payments:{past.dedup_key}"
    api.ladder.store.save(ladder.record(incident_id, start, state))
    return incident_id


async def test_a_responder_reads_the_similar_past_incidents_of_an_open_one(api: Api) -> None:
    pool = closed_out(api, incident(key="pool", title="Primary database refuses connections"), CAUSE)
    closed_out(
        api, incident(key="cert", title="TLS certificate expired", summary="at the edge"), "renewal job"
    )
    assert (await api.enqueue(trigger())).status_code == 202  # "Primary database down"

    response = await api.http.get("/v1/incidents/incident:payments:db-down/similar", headers=api.token("ben"))

    assert response.status_code == 200, response.text
    assert [(p["incident_id"], p["root_cause"], p["link"]) for p in response.json()] == [
        (pool, CAUSE, api.ladder.api.ui_url(pool))
    ]


async def test_unknown_incidents_are_404_and_strangers_401(api: Api) -> None:
    unknown = await api.http.get("/v1/incidents/incident:payments:nope/similar", headers=api.token())
    assert unknown.status_code == 404 and "no incident 'incident:payments:nope'" in unknown.json()["detail"]
    assert (await api.http.get("/v1/incidents/incident:payments:nope/similar")).status_code == 401


async def test_a_failing_store_is_503_without_its_address(api: Api) -> None:
    assert (await api.enqueue(trigger())).status_code == 202
    password = "store-password-never-shown"
    settings = Settings(
        config_dir=api.ladder.api.config.directory,
        task_queue=api.ladder.task_queue,
        database_url=f"postgresql+psycopg://escalation:{password}@127.0.0.1:{free_port()}/escalations",
    )

    async def bound() -> Escalations:
        return api.ladder.api

    app = create_app(settings, bound, ENV)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        response = await http.get("/v1/incidents/incident:payments:db-down/similar", headers=api.token())

    assert response.status_code == 503
    assert response.json() == {"detail": "the record store failed; try again shortly"}
