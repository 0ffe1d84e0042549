"""Events from monitoring tools, parsed into incidents: PagerDuty Events API v2 and
Prometheus Alertmanager webhooks (payload version 4).

Pure functions without I/O. Each returns a parsed ``Event`` or a list of problems, one line
each naming the field as the sender wrote it (``payload.summary: ...``). Incidents are built
through the ``Incident`` model, so hostile text is cleaned or refused exactly as anywhere else.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import TypeAdapter, ValidationError

from escalation.integrations import Integration, integration_actor
from escalation.models import MAX_KEY_CHARS, MAX_LINKS, MAX_TEXT_CHARS, Incident, Link, Severity

MAX_PAGERDUTY_KEY_CHARS = 255
MAX_SUMMARY_CHARS = 1024


class EventAction(StrEnum):
    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class Event:
    """What a monitoring tool asked for. ``incident`` is set for a trigger only."""

    action: EventAction
    dedup_key: str
    """As the sender gave it (or generated for a trigger without one): returned to the sender."""
    incident_key: str
    """The incident's dedup key: the sender's, or its digest when longer than an incident key may be."""
    incident: Incident | None = None


def incident_key(dedup_key: str) -> str:
    """Keys longer than an incident's limit are replaced by their digest, the same every time."""
    if len(dedup_key) <= MAX_KEY_CHARS:
        return dedup_key
    return "sha256-" + hashlib.sha256(dedup_key.encode("utf-8", "surrogatepass")).hexdigest()


def _text(data: dict, key: str, where: str, problems: list[str], *, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        problems.append(f"{where}{key}: {'is required; ' if value is None else ''}give a non-empty string")
        return ""
    return value


def _links(candidates: list[object]) -> list[str]:
    """The http(s) links among ``candidates``; anything else (``javascript:``, junk) is left out."""
    kept: list[str] = []
    for candidate in candidates:
        if isinstance(candidate, str) and len(kept) < MAX_LINKS:
            try:
                kept.append(_LINK.validate_python(candidate))
            except ValidationError:
                continue
    return list(dict.fromkeys(kept))


_LINK: TypeAdapter[str] = TypeAdapter(Link)


def _details(value: object) -> str:
    """Structured details as indented JSON, cut to what an incident may carry."""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return text[:MAX_TEXT_CHARS]


def _incident(data: dict, names: dict[str, str], problems: list[str]) -> Incident | None:
    """The incident, with the Incident model's problems named by the sender's fields."""
    try:
        return Incident.model_validate(data)
    except ValidationError as error:
        for item in error.errors(include_url=False):
            field = ".".join(str(part) for part in item["loc"])
            field = next((names[k] for k in names if field == k or field.startswith(k + ".")), field)
            problems.append(f"{field}: {item['msg'].removeprefix('Value error, ')}")
        return None


def _timestamp(value: object, where: str, problems: list[str]) -> datetime | None:
    if value is None:
        return None
    try:
        return TypeAdapter(datetime).validate_python(value)
    except ValidationError:
        problems.append(f"{where}: is not a timestamp; use ISO 8601 (e.g. '2025-03-01T12:00:00Z')")
        return None


# --- PagerDuty Events API v2 ----------------------------------------------------------------

_PAGERDUTY_FIELDS = {
    "title": "payload.summary",
    "dedup_key": "dedup_key",
    "summary": "payload.custom_details",
    "report.where": "payload.source",
    "report.what_happened": "payload.summary",
    "report.started_at": "payload.timestamp",
}


def parse_pagerduty(body: object, name: str, integration: Integration) -> Event | list[str]:
    """A PagerDuty Events API v2 event for integration ``name``."""
    if not isinstance(body, dict):
        return ["(body): expected a JSON object with routing_key, event_action and payload"]
    problems: list[str] = []
    action = body.get("event_action")
    if not isinstance(action, str) or action not in tuple(EventAction):
        problems.append("event_action: is not an event action; use trigger, acknowledge or resolve")
    key = body.get("dedup_key")
    if key is not None and (
        not isinstance(key, str) or not key.strip() or len(key) > MAX_PAGERDUTY_KEY_CHARS
    ):
        problems.append(f"dedup_key: give a non-empty string of at most {MAX_PAGERDUTY_KEY_CHARS} characters")
    elif key is None and action in (EventAction.ACKNOWLEDGE, EventAction.RESOLVE):
        problems.append(f"dedup_key: is required to {action}; give the key the trigger returned")
    if problems:
        return problems
    key = key or uuid.uuid4().hex
    if action != EventAction.TRIGGER:
        return Event(EventAction(action), key, incident_key(key))
    incident = _pagerduty_incident(body, key, name, integration, problems)
    return (
        problems
        if problems or incident is None
        else Event(EventAction.TRIGGER, key, incident_key(key), incident)
    )


def _pagerduty_incident(
    body: dict, key: str, name: str, integration: Integration, problems: list[str]
) -> Incident | None:
    payload = body.get("payload")
    if not isinstance(payload, dict):
        problems.append(
            "payload: is required for a trigger; give an object with summary, source and severity"
        )
        return None
    summary = _text(payload, "summary", "payload.", problems, required=True)
    if len(summary) > MAX_SUMMARY_CHARS:
        problems.append(
            f"payload.summary: is {len(summary)} characters long; shorten it to {MAX_SUMMARY_CHARS}"
        )
    source = _text(payload, "source", "payload.", problems, required=True)
    severity = payload.get("severity")
    if severity is not None and (not isinstance(severity, str) or severity not in integration.severities):
        problems.append(
            "payload.severity: is not a severity here; use one of: " + ", ".join(integration.severities)
        )
    places = {part: _text(payload, part, "payload.", problems) for part in ("component", "group", "class")}
    started_at = _timestamp(payload.get("timestamp"), "payload.timestamp", problems)
    images = body.get("images") if isinstance(body.get("images"), list) else []
    links = body.get("links") if isinstance(body.get("links"), list) else []
    hrefs = [item.get("href") for item in links + images if isinstance(item, dict)]
    hrefs += [item.get("src") for item in images if isinstance(item, dict)]
    if problems:
        return None
    where = ", ".join([source] + [f"{part} {value}" for part, value in places.items() if value])
    details = payload.get("custom_details")
    return _incident(
        {
            "title": summary,
            "service": integration.service,
            "severity": integration.severity_of(severity),
            "dedup_key": incident_key(key),
            "summary": "" if details is None else _details(details),
            "report": {"what_happened": summary, "where": where, "started_at": started_at},
            "source": integration_actor(name),
            "links": _links(hrefs),
        },
        _PAGERDUTY_FIELDS,
        problems,
    )


# --- Prometheus Alertmanager webhook, version 4 ---------------------------------------------

_ALERTMANAGER_FIELDS = {
    "title": "commonLabels.alertname",
    "dedup_key": "groupKey",
    "summary": "alerts",
    "report.what_happened": "commonAnnotations.description",
    "report.where": "commonLabels",
    "report.started_at": "alerts.startsAt",
}
_URGENCY = {severity: rank for rank, severity in enumerate(Severity)}


def _labels(data: dict, key: str, problems: list[str]) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(f"{key}: expected an object of string labels")
        return {}
    return {str(k): v for k, v in value.items()}


def parse_alertmanager(body: object, name: str, integration: Integration) -> Event | list[str]:
    """An Alertmanager webhook notification: one incident per ``groupKey``; firing opens or
    repeats it, resolved resolves it."""
    if not isinstance(body, dict):
        return ["(body): expected the JSON object Alertmanager's webhook sends (version 4)"]
    problems: list[str] = []
    if body.get("version") != "4":
        problems.append("version: is not supported; send webhook payload version '4'")
    group_key = _text(body, "groupKey", "", problems, required=True)
    status = body.get("status")
    if status not in ("firing", "resolved"):
        problems.append("status: is not an alert status; use firing or resolved")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(alert, dict) for alert in alerts):
        problems.append("alerts: expected a list of alert objects")
        alerts = []
    labels = _labels(body, "commonLabels", problems)
    annotations = _labels(body, "commonAnnotations", problems)
    if problems:
        return problems
    if status == "resolved":
        return Event(EventAction.RESOLVE, group_key, incident_key(group_key))
    incident = _alertmanager_incident(body, alerts, labels, annotations, name, integration, problems)
    if problems or incident is None:
        return problems
    return Event(EventAction.TRIGGER, group_key, incident_key(group_key), incident)


def _alertmanager_incident(
    body: dict,
    alerts: list[dict],
    labels: dict[str, str],
    annotations: dict[str, str],
    name: str,
    integration: Integration,
    problems: list[str],
) -> Incident | None:
    firing = [alert for alert in alerts if alert.get("status", "firing") == "firing"] or alerts
    severities = [integration.severity_of(_label(alert, "severity")) for alert in firing]
    severity = min(
        severities, key=_URGENCY.__getitem__, default=integration.severity_of(labels.get("severity"))
    )
    started = [t for alert in firing if (t := _timestamp(alert.get("startsAt"), "alerts.startsAt", problems))]
    alertname = labels.get("alertname") or _label(firing[0] if firing else {}, "alertname") or "alert"
    headline = annotations.get("summary") or annotations.get("description") or ""
    title = f"{alertname}: {headline}" if headline else alertname
    return _incident(
        {
            "title": title,
            "service": integration.service,
            "severity": severity,
            "dedup_key": incident_key(str(body["groupKey"])),
            "summary": _details([_alert_digest(alert) for alert in firing]),
            "report": {
                "what_happened": annotations.get("description", ""),
                "where": ", ".join(f"{k}={v}" for k, v in labels.items()),
                "started_at": min(started, default=None),
            },
            "source": integration_actor(name),
            "links": _links([alert.get("generatorURL") for alert in firing] + [body.get("externalURL")]),
        },
        _ALERTMANAGER_FIELDS,
        problems,
    )


def _label(alert: dict, key: str) -> str | None:
    labels = alert.get("labels")
    value = labels.get(key) if isinstance(labels, dict) else None
    return value if isinstance(value, str) else None


def _alert_digest(alert: dict) -> dict[str, object]:
    return {key: alert.get(key) for key in ("status", "labels", "annotations", "startsAt") if key in alert}
