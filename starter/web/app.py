"""The HTTP front door: monitoring tools open and close incidents, responders act with tokens.

Ingest speaks PagerDuty Events API v2 (``/v2/enqueue``), Alertmanager webhooks and a native
JSON route, each authenticated by an integration's key; the responder API is generated from
the action table and authenticated by a responder token. Bad input is a 4xx naming the field;
keys and tokens never appear in responses or logs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError, create_model
from temporalio.service import RPCError

from activities.store import StoreError
from escalation.actions import ACTIONS, Action
from escalation.config import load_config
from escalation.events import Event, EventAction, parse_alertmanager, parse_pagerduty
from escalation.integrations import Integration, integration_actor
from escalation.learning import Review, ReviewSubmission, SimilarIncident
from escalation.models import Incident, Severity, Strict, service_id
from escalation.reviews import ReviewSubmissionRequest
from escalation.settings import SECRET_ENV, Settings
from escalation.state import ActionResult, Status, StatusView
from starter.api import (
    EscalationError,
    Listed,
    Opened,
    RefusedError,
    UnansweredError,
    UnknownIncidentError,
    incident_id_of,
)
from starter.similar import similar_incidents
from starter.web.access_log import hide_tokens_in_access_log
from starter.web.door import (
    Door,
    DoorDep,
    EscalationsFactory,
    HTTPProblem,
    detail,
    json_body,
    unauthorized,
)
from starter.web.links import link_routes
from starter.web.metrics import metrics_routes
from starter.web.review_links import review_link_routes
from starter.web.schedule_feed import schedule_routes
from starter.web.slack_actions import slack_routes
from starter.web.tokens import TokenError, responder_of
from starter.web.twilio_webhooks import twilio_routes


def _invalid_event(errors: list[str]) -> HTTPProblem:
    return HTTPProblem(
        400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    )


bearer = HTTPBearer(auto_error=False)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def responder(door: DoorDep, credentials: Bearer) -> str:
    """The responder the bearer token names, or 401."""
    if credentials is None:
        raise unauthorized("send 'Authorization: Bearer <token>' (get one with 'escalate token --as YOU')")
    if not door.secret:
        raise unauthorized(f"responder tokens are not enabled here; set {SECRET_ENV} where the API runs")
    try:
        return responder_of(credentials.credentials, door.secret, door.config.roster.responders)
    except TokenError as error:
        raise unauthorized(str(error)) from None


Responder = Annotated[str, Depends(responder)]


def integration_by_bearer(door: DoorDep, credentials: Bearer) -> str:
    name = door.integration_for(credentials.credentials) if credentials else None
    if name is None:
        raise unauthorized("send 'Authorization: Bearer <integration key>' with a key from integrations.yaml")
    return name


IntegrationName = Annotated[str, Depends(integration_by_bearer)]


async def _act_as_integration(door: Door, name: str, integration: Integration, event: Event) -> str:
    """Acknowledge or resolve the incident this integration opened; anything else is dropped."""
    escalations = await door.escalations()
    incident_id = incident_id_of(integration.service, event.incident_key)
    actor = integration_actor(name)
    try:
        view = await escalations.status(incident_id)
        if view.incident.source != actor:
            return incident_id
        fields: dict[str, object] = {"responder": actor}
        if event.action is EventAction.RESOLVE:
            fields["summary"] = f"resolved by {name}: the monitor reports the problem over"
        await escalations.act(incident_id, event.action.value, fields)
    except (UnknownIncidentError, RefusedError):
        pass  # as PagerDuty does: an event for no open incident of this integration is dropped
    return incident_id


async def _apply_event(door: Door, name: str, event: Event) -> Opened | str:
    integration = door.config.integrations.integrations[name]
    if event.incident is None:
        return await _act_as_integration(door, name, integration, event)
    escalations = await door.escalations()
    return await escalations.trigger(event.incident, policy=integration.policy)


INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "not JSON, or an invalid event: one line per problem, naming the field"},
    413: {"description": "the body is over 512 KB"},
    429: {"description": "the integration is over its rate limit; see Retry-After"},
    503: {"description": "Temporal is not reachable; retry"},
}

UNKNOWN_KEY = {"description": "no integration key, or not this integration's"}


def _ingest_routes(app: FastAPI) -> None:
    @app.post("/v2/enqueue", status_code=202, tags=["ingest"], responses=INGEST_RESPONSES)
    async def enqueue(request: Request, door: DoorDep) -> dict[str, str]:
        """PagerDuty Events API v2: trigger, acknowledge or resolve by routing key and dedup key."""
        body = await json_body(request)
        key = body.get("routing_key") if isinstance(body, dict) else None
        name = door.integration_for(key) if isinstance(key, str) else None
        if name is None:
            raise _invalid_event(
                ["routing_key: is not the key of an integration; use one from integrations.yaml"]
            )
        door.admit(request, name)
        event = parse_pagerduty(body, name, door.config.integrations.integrations[name])
        if isinstance(event, list):
            raise _invalid_event(event)
        await _apply_event(door, name, event)
        return {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key}

    @app.post(
        "/v1/integrations/{name}/alertmanager",
        status_code=202,
        tags=["ingest"],
        responses={**INGEST_RESPONSES, 401: UNKNOWN_KEY},
    )
    async def alertmanager(
        request: Request, name: str, door: DoorDep, caller: IntegrationName
    ) -> dict[str, str]:
        """Prometheus Alertmanager webhook (version 4): one incident per alert group."""
        if caller != name:
            raise unauthorized(f"this key is not the key of integration {name!r}")
        door.admit(request, name)
        event = parse_alertmanager(
            await json_body(request), name, door.config.integrations.integrations[name]
        )
        if isinstance(event, list):
            raise _invalid_event(event)
        applied = await _apply_event(door, name, event)
        incident_id = applied.incident_id if isinstance(applied, Opened) else applied
        return {"status": "success", "incident_id": incident_id, "action": event.action.value}

    @app.post(
        "/v1/incidents",
        status_code=201,
        tags=["ingest"],
        responses={
            200: {"description": "deduplicated"},
            **INGEST_RESPONSES,
            401: UNKNOWN_KEY,
            422: {"description": "invalid fields: one line per problem, naming the field"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Incident"}}},
            }
        },
    )
    async def open_incident(request: Request, door: DoorDep, name: IntegrationName) -> JSONResponse:
        """Open an incident (the incident fields minus ``service``, which the integration sets)."""
        door.admit(request, name)
        body = await json_body(request)
        if not isinstance(body, dict):
            raise detail(
                422, "(body): expected a JSON object of incident fields (title, severity, dedup_key, ...)"
            )
        if "service" in body:
            raise detail(422, "service: unknown key; the integration's service is used")
        integration = door.config.integrations.integrations[name]
        try:
            incident = Incident.model_validate(
                body | {"service": integration.service, "source": integration_actor(name)}
            )
        except ValidationError as error:
            raise HTTPProblem(422, {"detail": _problems(error)}) from None
        opened = await (await door.escalations()).trigger(incident, policy=integration.policy)
        body = {
            "incident_id": opened.incident_id,
            "deduplicated": opened.deduplicated,
            "occurrences": opened.occurrences,
            "ui_url": opened.ui_url,
        }
        return JSONResponse(body, status_code=200 if opened.deduplicated else 201)


def _problems(error: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in item['loc']) or '(body)'}: {item['msg'].removeprefix('Value error, ')}"
        for item in error.errors(include_url=False)
    ]


def _body_model(action: Action) -> type[Strict]:
    """The action's request without ``responder``: the token says who acts."""
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in action.inputs.items()}
    return create_model(f"{action.request.__name__}Body", __base__=Strict, **fields)


def _action_route(app: FastAPI, action: Action) -> None:
    body_model = _body_model(action)

    async def act(incident_id: str, body: Strict, door: DoorDep, who: Responder) -> ActionResult:
        escalations = await door.escalations()
        return await escalations.act(incident_id, action, body.model_dump() | {"responder": who})

    act.__annotations__["body"] = body_model  # FastAPI reads the body's schema from the annotation

    app.post(
        f"/v1/incidents/{{incident_id}}/{action.name}",
        tags=["responders"],
        summary=action.help,
        responses={404: {"description": "no such incident"}, 409: {"description": "refused"}},
    )(act)


def _responder_routes(app: FastAPI) -> None:
    @app.get("/v1/incidents", tags=["responders"])
    async def list_incidents(
        door: DoorDep,
        who: Responder,
        status: Status | None = None,
        severity: Severity | None = None,
        service: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[Listed]:
        """Open escalations, or those matching the filters (as 'escalate list --json')."""
        if service is not None:
            try:
                service = service_id(service)
            except ValueError as error:
                raise detail(422, f"service: {error}") from None
        return await (await door.escalations()).list(status, severity, service, limit)

    @app.get("/v1/incidents/{incident_id}", tags=["responders"])
    async def incident_status(incident_id: str, door: DoorDep, who: Responder) -> StatusView:
        """An incident's state and timeline (as 'escalate status --json')."""
        return await (await door.escalations()).status(incident_id)

    @app.get(
        "/v1/incidents/{incident_id}/similar",
        tags=["responders"],
        responses={404: {"description": "no such incident"}, 503: {"description": "the record store failed"}},
    )
    async def similar_past_incidents(
        incident_id: str, door: DoorDep, who: Responder
    ) -> list[SimilarIncident]:
        """The past incidents most like this one, best first (as 'escalate similar --json')."""
        _, found = await similar_incidents(await door.escalations(), door.store, incident_id)
        return found

    for action in ACTIONS:
        _action_route(app, action)

    @app.post(
        "/v1/incidents/{incident_id}/review",
        tags=["responders"],
        responses={
            404: {"description": "no such incident, or no review of it pending"},
            409: {"description": "refused: not the owner, not a tier of the policy, already submitted"},
            422: {"description": "invalid fields: one line per problem, naming the field"},
        },
    )
    async def submit_review(
        incident_id: str, submission: ReviewSubmission, door: DoorDep, who: Responder
    ) -> Review:
        """Submit the post-incident review of the incident's latest escalation with one pending
        (as 'escalate review')."""
        request = ReviewSubmissionRequest(responder=who, submission=submission)
        return await (await door.escalations()).submit_review(incident_id, request)


def _health_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "Temporal is not reachable"}})
    async def readyz(door: DoorDep) -> dict[str, str]:
        """Temporal is reachable (503 otherwise)."""
        if not await (await door.escalations()).reachable():
            raise detail(503, "Temporal is not reachable; try again shortly")
        return {"status": "ready"}


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPProblem)
    async def problem(request: Request, error: HTTPProblem) -> JSONResponse:
        return JSONResponse(error.body, status_code=error.status, headers=error.headers)

    @app.exception_handler(RefusedError)
    async def refused(request: Request, error: RefusedError) -> JSONResponse:
        return JSONResponse({"detail": error.reason}, status_code=409)

    @app.exception_handler(UnknownIncidentError)
    async def unknown(request: Request, error: UnknownIncidentError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(EscalationError)
    async def failed(request: Request, error: EscalationError) -> JSONResponse:
        status = 503 if isinstance(error, UnansweredError) else 409
        return JSONResponse({"detail": str(error)}, status_code=status)

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, error: StoreError) -> JSONResponse:
        return JSONResponse({"detail": "the record store failed; try again shortly"}, status_code=503)

    @app.exception_handler(RPCError)
    async def unreachable(request: Request, error: RPCError) -> JSONResponse:
        return JSONResponse({"detail": "Temporal did not answer; try again shortly"}, status_code=503)


def create_app(
    settings: Settings, escalations_factory: EscalationsFactory, env: Mapping[str, str] | None = None
) -> FastAPI:
    """The app for ``settings``' configuration; ``escalations_factory`` connects on first use."""
    config = load_config(settings.config_dir, with_channels=False)
    door = Door(config, os.environ if env is None else env, escalations_factory, settings)

    @asynccontextmanager
    async def connect_early(app: FastAPI) -> AsyncIterator[None]:
        """Start connecting at start-up, so /readyz turns ready without waiting for a request."""
        connecting = door.start_connecting()
        yield
        connecting.cancel()

    app = FastAPI(
        title="Escalations", summary=__doc__.splitlines()[0] if __doc__ else None, lifespan=connect_early
    )
    app.state.door = door
    hide_tokens_in_access_log()
    _ingest_routes(app)
    _responder_routes(app)
    link_routes(app)
    review_link_routes(app)
    schedule_routes(app, responder)
    slack_routes(app)
    twilio_routes(app)
    _health_routes(app)
    metrics_routes(app)
    _error_handlers(app)
    return app
