"""Monitoring tools open, acknowledge and resolve incidents over HTTP."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import OTHER_KEY, Api, bearer


def trigger(key: str = "db-down", **payload: Any) -> dict[str, Any]:
    fields = {"summary": "Primary database down", "source": "db-1", "severity": "error"} | payload
    return {"event_action": "trigger", "dedup_key": key, "payload": fields}


async def test_trigger_acknowledge_resolve_through_v2_enqueue(api: Api) -> None:
    opened = await api.enqueue(trigger())
    assert opened.status_code == 202
    assert opened.json() == {"status": "success", "message": "Event processed", "dedup_key": "db-down"}
    incident_id = "incident:payments:db-down"
    view = await api.ladder.api.status(incident_id)
    assert view.incident.title == "Primary database down" and view.severity == "SEV2"

    assert (await api.enqueue({"event_action": "acknowledge", "dedup_key": "db-down"})).status_code == 202
    view = await api.ladder.api.status(incident_id)
    assert view.status == "acknowledged" and view.acknowledged_by == "integration:payments-alerts"

    assert (await api.enqueue({"event_action": "resolve", "dedup_key": "db-down"})).status_code == 202
    assert (await api.ladder.api.status(incident_id)).status == "resolved"


async def test_a_repeated_trigger_is_deduplicated(api: Api) -> None:
    await api.enqueue(trigger("flap"))
    assert (await api.enqueue(trigger("flap"))).status_code == 202
    assert (await api.ladder.api.status("incident:payments:flap")).occurrences == 2


async def test_events_for_another_integrations_incident_are_dropped(api: Api) -> None:
    await api.enqueue(trigger("theirs"))
    other = await api.http.post(
        "/v2/enqueue", json={"routing_key": OTHER_KEY, "event_action": "resolve", "dedup_key": "theirs"}
    )
    assert other.status_code == 202
    assert (await api.ladder.api.status("incident:payments:theirs")).status == "triggered"
    missing = await api.enqueue({"event_action": "resolve", "dedup_key": "never-opened"})
    assert missing.status_code == 202


async def test_bad_events_are_400_with_one_line_per_problem(api: Api) -> None:
    response = await api.enqueue({"event_action": "trigger", "payload": {"source": "x", "summary": ""}})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "invalid event" and body["errors"] == [
        "payload.summary: give a non-empty string"
    ]
    unknown = await api.http.post("/v2/enqueue", json={"routing_key": "nope", "event_action": "trigger"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0].startswith("routing_key:")
    assert "nope" not in unknown.text
    not_json = await api.http.post("/v2/enqueue", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400


async def test_oversized_bodies_are_413(api: Api) -> None:
    response = await api.http.post("/v2/enqueue", content=b"x" * (512 * 1024 + 1))
    assert response.status_code == 413


async def test_over_the_rate_limit_is_429_with_retry_after(api: Api) -> None:
    codes = [(await api.enqueue({"event_action": "resolve", "dedup_key": "k"})) for _ in range(31)]
    assert [r.status_code for r in codes[:30]] == [202] * 30
    assert codes[30].status_code == 429 and int(codes[30].headers["Retry-After"]) >= 1


def alert_group(status: str) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": status,
        "commonLabels": {"alertname": "DiskFull"},
        "commonAnnotations": {"summary": "disk full"},
        "alerts": [{"status": status, "labels": {"alertname": "DiskFull", "severity": "error"}}],
    }


async def test_alertmanager_fires_and_resolves_one_incident_per_group(api: Api) -> None:
    path = "/v1/integrations/payments-alerts/alertmanager"
    headers = bearer("test-only-payments-key")
    fired = await api.http.post(path, json=alert_group("firing"), headers=headers)
    assert fired.status_code == 202, fired.text
    incident_id = fired.json()["incident_id"]
    api.opened.append(incident_id)
    assert (await api.ladder.api.status(incident_id)).incident.title == "DiskFull: disk full"
    assert (await api.http.post(path, json=alert_group("resolved"), headers=headers)).status_code == 202
    assert (await api.ladder.api.status(incident_id)).status == "resolved"
    assert (
        await api.http.post(path, json=alert_group("firing"), headers=bearer(OTHER_KEY))
    ).status_code == 401
    assert (await api.http.post(path, json={"version": "3"}, headers=headers)).status_code == 400


async def test_native_incidents_201_then_200_when_deduplicated(api: Api) -> None:
    headers = bearer("test-only-payments-key")
    body = {"title": "Queue backlog", "severity": "SEV3", "dedup_key": "backlog"}
    first = await api.http.post("/v1/incidents", json=body, headers=headers)
    api.opened.append("incident:payments:backlog")
    assert first.status_code == 201
    assert (
        first.json()["incident_id"] == "incident:payments:backlog" and first.json()["deduplicated"] is False
    )
    again = await api.http.post("/v1/incidents", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["occurrences"] == 2
    bad = await api.http.post("/v1/incidents", json=body | {"links": ["javascript:x"]}, headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0].startswith("links.0:")
    assert (
        await api.http.post("/v1/incidents", json=body | {"service": "x"}, headers=headers)
    ).status_code == 422
    assert (await api.http.post("/v1/incidents", json=body)).status_code == 401
