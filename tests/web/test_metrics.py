"""The API's /metrics: events ingested by integration and result, latency by route template."""

from __future__ import annotations

from tests.scrape import Samples, growth, samples
from tests.web.conftest import KEY, Api, bearer
from tests.web.test_ingest import trigger


async def scrape(api: Api) -> Samples:
    response = await api.http.get("/metrics")  # no credentials, like /healthz
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


async def test_ingest_is_counted_by_integration_and_result_and_timed_by_route(api: Api) -> None:
    before = await scrape(api)
    assert (await api.enqueue(trigger("disk-full"))).status_code == 202
    unknown = await api.http.post("/v2/enqueue", json={"routing_key": "not-a-key", "event_action": "trigger"})
    assert unknown.status_code == 400
    stranger = await api.http.post("/v1/integrations/made-up-name/alertmanager", json={})
    assert stranger.status_code == 401
    status = await api.http.get("/v1/incidents/incident:payments:disk-full", headers=api.token())
    assert status.status_code == 200
    after = await scrape(api)
    delta = growth(before, after)

    assert delta("escalation_events_ingested_total", integration="payments-alerts", result="accepted") == 1
    assert delta("escalation_events_ingested_total", integration="unknown", result="invalid") == 1
    assert delta("escalation_events_ingested_total", integration="unknown", result="unauthorized") == 1
    count = "escalation_api_request_duration_seconds_count"
    assert delta(count, method="POST", route="/v2/enqueue", status="202") == 1
    assert delta(count, method="POST", route="/v2/enqueue", status="400") == 1
    assert delta(count, method="POST", route="/v1/integrations/{name}/alertmanager", status="401") == 1
    assert delta(count, method="GET", route="/v1/incidents/{incident_id}", status="200") == 1
    labels = {value for _, pairs in after for _, value in pairs}
    for secret_or_caller_text in ("disk-full", "made-up-name", "not-a-key", KEY):
        assert not any(secret_or_caller_text in value for value in labels)


async def test_an_integration_over_its_rate_limit_is_counted_as_limited(api: Api) -> None:
    before = await scrape(api)
    answers = [(await api.enqueue({"event_action": "trigger"})).status_code for _ in range(31)]
    assert answers == [400] * 30 + [429]  # invalid events still spend the integration's budget
    delta = growth(before, await scrape(api))
    assert delta("escalation_events_ingested_total", integration="payments-alerts", result="invalid") == 30
    assert (
        delta("escalation_events_ingested_total", integration="payments-alerts", result="rate_limited") == 1
    )


async def test_what_a_caller_makes_up_is_never_a_label(api: Api) -> None:
    before = await scrape(api)
    assert (await api.http.get("/v1/tokens/abc123", headers=bearer("x"))).status_code == 404
    assert (await api.http.request("BREW", "/healthz")).status_code == 405
    after = await scrape(api)
    delta = growth(before, after)
    count = "escalation_api_request_duration_seconds_count"
    assert delta(count, method="GET", route="unmatched", status="404") == 1
    assert delta(count, method="other", route="/healthz", status="405") == 1
    assert not any(text in value for text in ("abc123", "BREW") for _, pairs in after for _, value in pairs)
