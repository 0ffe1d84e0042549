"""PagerDuty Events v2 and Alertmanager webhooks become incidents, or problems naming the field."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.events import Event, EventAction, incident_key, parse_alertmanager, parse_pagerduty
from escalation.integrations import Integration
from escalation.models import Severity

CHECKOUT = Integration(service="checkout", key_env="KEY", default_severity=Severity.SEV4)


def pd_trigger(**payload: Any) -> dict[str, Any]:
    fields = {"summary": "CPU high on web-1", "source": "web-1", "severity": "critical"} | payload
    return {"routing_key": "k", "event_action": "trigger", "dedup_key": "cpu-web-1", "payload": fields}


def parsed(result: Event | list[str]) -> Event:
    assert isinstance(result, Event), result
    return result


def test_a_pagerduty_trigger_becomes_an_incident() -> None:
    body = pd_trigger(
        component="nginx", group="prod", timestamp="2025-03-01T12:00:00Z", custom_details={"load": 9.5}
    )
    body["links"] = [
        {"href": "https://grafana.example.com/d/x", "text": "dash"},
        {"href": "javascript:alert(1)"},
    ]
    body["images"] = [{"src": "https://img.example.com/a.png"}]

    event = parsed(parse_pagerduty(body, "checkout-alerts", CHECKOUT))

    incident = event.incident
    assert event.action is EventAction.TRIGGER and event.dedup_key == "cpu-web-1" and incident
    assert incident.title == "CPU high on web-1" and incident.severity is Severity.SEV1
    assert incident.service == "checkout" and incident.source == "integration:checkout-alerts"
    assert incident.report.where == "web-1, component nginx, group prod"
    assert incident.report.started_at and incident.report.started_at.year == 2025
    assert '"load": 9.5' in incident.summary
    assert incident.links == ["https://grafana.example.com/d/x", "https://img.example.com/a.png"]


def test_a_trigger_without_a_key_gets_one_and_an_unmapped_severity_is_refused() -> None:
    body = pd_trigger()
    del body["dedup_key"], body["payload"]["severity"]
    event = parsed(parse_pagerduty(body, "a", CHECKOUT))
    assert event.dedup_key and event.incident and event.incident.severity is Severity.SEV4
    assert parse_pagerduty(pd_trigger(severity="apocalyptic"), "a", CHECKOUT) == [
        "payload.severity: is not a severity here; use one of: critical, error, warning, info"
    ]


def test_pagerduty_problems_name_the_fields() -> None:
    body = {"event_action": "explode", "dedup_key": "x" * 256}
    problems = parse_pagerduty(body, "a", CHECKOUT)
    assert isinstance(problems, list)
    assert [line.split(":")[0] for line in problems] == ["event_action", "dedup_key"]
    long = parse_pagerduty(pd_trigger(summary="x" * 1025, timestamp="yesterday"), "a", CHECKOUT)
    assert isinstance(long, list)
    assert {line.split(":")[0] for line in long} == {"payload.summary", "payload.timestamp"}
    assert parse_pagerduty({"event_action": "resolve"}, "a", CHECKOUT) == [
        "dedup_key: is required to resolve; give the key the trigger returned"
    ]


def test_hostile_text_is_cleaned_as_anywhere_else() -> None:
    event = parsed(parse_pagerduty(pd_trigger(summary="db\x1b[31m down\u202e\nnow"), "a", CHECKOUT))
    assert event.incident and event.incident.title == "db[31m down now"
    key_problem = parse_pagerduty(pd_trigger() | {"dedup_key": "a\nb"}, "a", CHECKOUT)
    assert isinstance(key_problem, list) and key_problem[0].startswith("dedup_key: contains the control")


def test_long_pagerduty_keys_map_to_one_incident_key() -> None:
    key = "k" * 255
    trigger = parsed(parse_pagerduty(pd_trigger() | {"dedup_key": key}, "a", CHECKOUT))
    resolve = parsed(parse_pagerduty({"event_action": "resolve", "dedup_key": key}, "a", CHECKOUT))
    assert trigger.dedup_key == key and trigger.incident_key == resolve.incident_key == incident_key(key)
    assert trigger.incident and trigger.incident.dedup_key == incident_key(key) != key


def alertmanager(status: str = "firing", **overrides: Any) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": status,
        "receiver": "escalations",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "instance": "db-1"},
        "commonAnnotations": {"summary": "disk 95% full", "description": "the WAL volume fills"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "DiskFull", "severity": "warning"},
                "annotations": {},
                "startsAt": "2025-03-01T12:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
            },
            {"status": "firing", "labels": {"alertname": "DiskFull", "severity": "critical"}},
        ],
    } | overrides


def test_a_firing_group_becomes_one_incident_at_its_most_urgent_severity() -> None:
    event = parsed(parse_alertmanager(alertmanager(), "am", CHECKOUT))
    incident = event.incident
    assert event.action is EventAction.TRIGGER and event.dedup_key == '{}:{alertname="DiskFull"}' and incident
    assert incident.title == "DiskFull: disk 95% full" and incident.severity is Severity.SEV1
    assert incident.report.what_happened == "the WAL volume fills"
    assert incident.report.where == "alertname=DiskFull, instance=db-1"
    assert incident.links == ["http://prometheus:9090/graph?g0.expr=disk", "http://alertmanager:9093/"]
    assert '"severity": "warning"' in incident.summary


def test_a_resolved_group_resolves_and_unlabelled_alerts_take_the_default_severity() -> None:
    assert parsed(parse_alertmanager(alertmanager("resolved"), "am", CHECKOUT)).action is EventAction.RESOLVE
    plain = alertmanager(alerts=[{"labels": {"alertname": "X"}}])
    assert parsed(parse_alertmanager(plain, "am", CHECKOUT)).incident.severity is Severity.SEV4  # type: ignore[union-attr]


def test_alertmanager_problems_name_the_fields() -> None:
    problems = parse_alertmanager({"version": "3", "status": "burning", "alerts": 5}, "am", CHECKOUT)
    assert isinstance(problems, list)
    assert [line.split(":")[0] for line in problems] == ["version", "groupKey", "status", "alerts"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
PAGERDUTY_LIKE = st.fixed_dictionaries(
    {"event_action": st.sampled_from(["trigger", "acknowledge", "resolve"]) | JSON},
    optional={
        "dedup_key": st.text() | JSON,
        "payload": st.dictionaries(
            st.sampled_from(["summary", "source", "severity", "timestamp", "component", "custom_details"]),
            JSON,
        ),
        "links": JSON,
        "images": JSON,
    },
)
ALERTMANAGER_LIKE = st.fixed_dictionaries(
    {
        "version": st.just("4") | JSON,
        "groupKey": st.text() | JSON,
        "status": st.sampled_from(["firing", "resolved"]),
    },
    optional={
        "alerts": st.lists(st.dictionaries(st.sampled_from(["labels", "startsAt", "status"]), JSON)) | JSON,
        "commonLabels": JSON,
        "commonAnnotations": JSON,
        "externalURL": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(JSON | PAGERDUTY_LIKE)
def test_arbitrary_json_never_raises_from_the_pagerduty_parser(body: object) -> None:
    result = parse_pagerduty(body, "a", CHECKOUT)
    assert isinstance(result, Event) or (result and all(isinstance(line, str) for line in result))


@settings(max_examples=300, deadline=None)
@given(JSON | ALERTMANAGER_LIKE)
def test_arbitrary_json_never_raises_from_the_alertmanager_parser(body: object) -> None:
    result = parse_alertmanager(body, "a", CHECKOUT)
    assert isinstance(result, Event) or (result and all(isinstance(line, str) for line in result))
