"""No JSON body a sender can write makes the ingest routes (or the Slack app's) fail with a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation.models import Incident
from escalation.settings import Settings
from starter.api import Escalations, Opened, UnknownIncidentError
from starter.web.app import create_app
from tests.web.conftest import KEY, bearer
from tests.web.test_slack_actions import ANA, SLACK_ENV, signed, slack_config

ALERTMANAGER = "/v1/integrations/payments-alerts/alertmanager"


class Accepting:
    """Escalations that opens everything and knows no incident: the routes' own logic is under test."""

    async def trigger(self, incident: Incident, policy: str | None = None, source: str = "") -> Opened:
        incident_id = f"incident:{incident.service}:{incident.dedup_key or 'x'}"
        return Opened(incident_id=incident_id, workflow_id=incident_id, ui_url="", deduplicated=False,
                      occurrences=1)  # fmt: skip

    async def status(self, incident_id: str) -> object:
        raise UnknownIncidentError(f"no escalation {incident_id}")


@dataclass
class Client:
    """httpx against the app, driven from synchronous hypothesis tests through one event loop."""

    portal: BlockingPortal
    http: httpx.AsyncClient

    def post(self, path: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.portal.call(lambda: self.http.post(path, content=content, headers=headers))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    directory = slack_config(tmp_path_factory.mktemp("fuzz"))
    limits = (directory / "integrations.yaml").read_text().replace("30", "100000")
    (directory / "integrations.yaml").write_text(limits)

    async def accepting() -> Escalations:
        return Accepting()  # type: ignore[return-value]

    app = create_app(Settings(config_dir=directory), accepting, SLACK_ENV)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with start_blocking_portal() as portal:
        http = httpx.AsyncClient(transport=transport, base_url="http://api")
        yield Client(portal, http)
        portal.call(http.aclose)


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def shaped(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Objects with the route's own keys, mostly with a likely value (so parsing gets deep),
    sometimes absent or any JSON, plus unknown keys."""
    body = dict(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=2)))
    for key, likely in fields.items():
        kind = draw(st.sampled_from(["likely", "likely", "likely", "absent", "any"]))
        if kind != "absent":
            body[key] = draw(likely if kind == "likely" else json_values)
    return body


labels = st.dictionaries(st.sampled_from(["alertname", "severity", "instance"]), st.text(max_size=30))
pagerduty_events = shaped(
    {
        "routing_key": st.just(KEY),
        "event_action": st.sampled_from(["trigger", "acknowledge", "resolve"]),
        "dedup_key": st.text(max_size=300),
        "payload": shaped(
            {
                "summary": st.text(max_size=40),
                "source": st.text(max_size=40),
                "severity": st.sampled_from(["critical", "error", "warning", "info"]),
                "timestamp": st.datetimes().map(lambda t: t.isoformat()) | st.text(max_size=30),
                "custom_details": json_values,
            }
        ),
        "links": st.lists(
            json_values | shaped({"href": st.sampled_from(["https://x.example", "javascript:x"])})
        ),
    }
)
alertmanager_bodies = shaped(
    {
        "version": st.just("4"),
        "groupKey": st.text(max_size=300),
        "status": st.sampled_from(["firing", "resolved"]),
        "commonLabels": labels,
        "commonAnnotations": st.dictionaries(st.sampled_from(["summary", "description"]), st.text()),
        "externalURL": st.sampled_from(["http://am.example", "ftp://x"]),
        "alerts": st.lists(
            json_values
            | shaped(
                {
                    "status": st.sampled_from(["firing", "resolved"]),
                    "labels": labels,
                    "startsAt": st.datetimes().map(lambda t: t.isoformat()) | st.text(max_size=30),
                    "generatorURL": st.text(max_size=30),
                }
            ),
            max_size=3,
        ),
    }
)
native_incidents = shaped(
    {
        "title": st.text(max_size=60),
        "severity": st.sampled_from(["SEV1", "SEV2", "SEV3", "SEV4", "sev9"]),
        "dedup_key": st.text(max_size=100),
        "summary": st.text(max_size=60),
        "links": st.lists(st.text(max_size=30), max_size=3),
        "report": json_values,
    }
)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def post(client: Client, path: str, body: object, headers: dict[str, str] | None = None) -> int:
    content = json.dumps(body).encode()
    headers = {"content-type": "application/json"} | (headers or {})
    response = client.post(path, content=content, headers=headers)
    assert response.status_code < 500, (body, response.status_code, response.text)
    return response.status_code


@FUZZ
@given(body=pagerduty_events | json_values)
def test_v2_enqueue_never_fails_with_5xx(client: Client, body: object) -> None:
    post(client, "/v2/enqueue", body)


@FUZZ
@given(body=alertmanager_bodies | json_values)
def test_alertmanager_webhook_never_fails_with_5xx(client: Client, body: object) -> None:
    post(client, ALERTMANAGER, body, bearer(KEY))


@FUZZ
@given(body=native_incidents | json_values)
def test_native_incidents_never_fail_with_5xx(client: Client, body: object) -> None:
    post(client, "/v1/incidents", body, bearer(KEY))


step_values = st.builds(
    lambda key, tier: json.dumps({"incident_id": f"incident:payments:{key}", "round": 0, "tier_name": tier,
                                  "triggered_at": "2026-01-01T00:00:00Z", "phase": "primary"}),
    st.text(max_size=20), st.text(max_size=10),
)  # fmt: skip
slack_clicks = shaped(
    {
        "type": st.sampled_from(["block_actions", "view_submission"]),
        "user": shaped({"id": st.sampled_from([ANA, "U0NOTHERE1"])}),
        "actions": st.lists(
            shaped({"action_id": st.sampled_from(["escalation:acknowledge", "escalation:escalate", "x"]),
                    "block_id": st.text(max_size=5), "value": step_values | st.text(max_size=20)}),
            max_size=2,
        ),
        "message": shaped({"text": st.text(max_size=20), "blocks": st.lists(json_values, max_size=3)}),
        "response_url": st.sampled_from(["", "https://evil.example/x", "not a url"]),
    }
)  # fmt: skip


@FUZZ
@given(payload=slack_clicks | json_values, raw=st.none() | st.text(max_size=40))
def test_slack_actions_never_fail_with_5xx(client: Client, payload: object, raw: str | None) -> None:
    body, headers = signed({"payload": json.dumps(payload) if raw is None else raw})
    response = client.post("/v1/slack/actions", content=body, headers=headers)
    assert response.status_code in (200, 400), (payload, response.status_code, response.text)
