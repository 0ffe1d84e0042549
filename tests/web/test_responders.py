"""Responders act on incidents with tokens; every action of the table has its route."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.actions import ACTIONS
from tests.web.conftest import Api, bearer
from tests.web.test_ingest import trigger

INCIDENT = "incident:payments:db-down"


async def opened(api: Api) -> str:
    assert (await api.enqueue(trigger())).status_code == 202
    return INCIDENT


async def test_every_action_has_a_route_in_the_openapi_schema(api: Api) -> None:
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    for action in ACTIONS:
        assert f"/v1/incidents/{{incident_id}}/{action.name}" in paths
    assert (await api.http.get("/docs")).status_code == 200
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}


async def test_a_responder_acknowledges_and_reads_the_status(api: Api) -> None:
    incident_id = await opened(api)
    acked = await api.http.post(
        f"/v1/incidents/{incident_id}/acknowledge", json={"note": "on it"}, headers=api.token()
    )
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "ana"
    status = await api.http.get(f"/v1/incidents/{incident_id}", headers=api.token("ben"))
    assert status.status_code == 200 and status.json()["status"] == "acknowledged"


async def test_refusals_are_409_with_the_rules_sentence(api: Api) -> None:
    incident_id = await opened(api)
    refused = await api.http.post(
        f"/v1/incidents/{incident_id}/change_severity",
        json={"severity": "SEV2", "reason": "x"},
        headers=api.token(),
    )
    assert refused.status_code == 409
    assert refused.json() == {"detail": "the incident is already SEV2; pick another severity"}


async def test_unknown_incidents_are_404_and_bad_bodies_422_naming_the_field(api: Api) -> None:
    missing = await api.http.post(
        "/v1/incidents/incident:payments:nope/acknowledge", json={}, headers=api.token()
    )
    assert missing.status_code == 404
    incident_id = await opened(api)
    bad = await api.http.post(
        f"/v1/incidents/{incident_id}/change_severity", json={"severity": "SEV9"}, headers=api.token()
    )
    assert bad.status_code == 422
    fields = {tuple(item["loc"]) for item in bad.json()["detail"]}
    assert ("body", "severity") in fields and ("body", "reason") in fields
    extra = await api.http.post(
        f"/v1/incidents/{incident_id}/acknowledge", json={"responder": "ben"}, headers=api.token()
    )
    assert extra.status_code == 422


async def test_listing_filters_are_validated(api: Api) -> None:
    bad = await api.http.get("/v1/incidents?service=Not%20A%20Service", headers=api.token())
    assert bad.status_code == 422 and bad.json()["detail"].startswith("service:")
    assert (await api.http.get("/v1/incidents?severity=SEV9", headers=api.token())).status_code == 422


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("not-a-token"),
        {"Authorization": "Basic YW5hOng="},
    ],
    ids=["missing", "malformed", "not-bearer"],
)
async def test_requests_without_a_valid_token_are_401(api: Api, headers: dict[str, str]) -> None:
    response = await api.http.get(f"/v1/incidents/{INCIDENT}", headers=headers)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


async def test_tampered_expired_foreign_and_unrostered_tokens_are_401(api: Api) -> None:
    good = api.token()["Authorization"]
    header, claims, signature = good.removeprefix("Bearer ").split(".")
    tampered = bearer(f"{header}.{claims}.{signature[:-4]}AAAA")
    expired = api.token(ttl=-timedelta(seconds=1))
    foreign = api.token(secret="another-secret-of-at-least-32-bytes-long")
    removed = api.token("ex-employee")
    for headers in (tampered, expired, foreign, removed):
        response = await api.http.get(f"/v1/incidents/{INCIDENT}", headers=headers)
        assert response.status_code == 401, response.text
        assert headers["Authorization"].removeprefix("Bearer ") not in response.text
    assert "expired" in (await api.http.get(f"/v1/incidents/{INCIDENT}", headers=expired)).json()["detail"]
