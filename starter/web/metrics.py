"""The API's Prometheus metrics: request latency by route, events ingested by integration.

``GET /metrics`` needs no credentials, like ``/healthz``: it holds counts and timings labelled
by route template, method, status and integration name (all from the code and the
configuration), never a path as requested, a token, an incident or a contact detail.
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activities.metrics import process_registry

REGISTRY = process_registry()
REQUEST_DURATION = Histogram(
    "escalation_api_request_duration_seconds",
    "HTTP requests to the API, by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
EVENTS_INGESTED = Counter(
    "escalation_events_ingested",
    "Events from monitoring tools, by integration and result "
    "(accepted|invalid|unauthorized|rate_limited|unavailable|rejected|error)",
    ["integration", "result"],
    registry=REGISTRY,
)
UNMATCHED = "unmatched"
"""The route label of a request no route matched: its path is the caller's, so it is never a label."""
UNKNOWN_INTEGRATION = "unknown"
"""The integration label of an event whose key named none (the integration's name is only believed
once its key was checked)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods labelled as they are; any other a caller makes up is labelled ``other``."""
INGEST_TAG = "ingest"
INTEGRATION_STATE = "integration"
_RESULTS = {400: "invalid", 413: "invalid", 422: "invalid", 401: "unauthorized", 429: "rate_limited"}


def attribute(request: Request, integration: str) -> None:
    """Name the integration whose key authenticated this ingest request, for its metrics."""
    setattr(request.state, INTEGRATION_STATE, integration)


def ingest_result(status: int) -> str:
    if status < 400:
        return "accepted"
    if status == 503:
        return "unavailable"
    return _RESULTS.get(status, "rejected" if status < 500 else "error")


class Measured:
    """ASGI middleware timing every request; ingest routes also count their events."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception escaping the app is answered 500 by the server-error middleware
        state = scope.setdefault("state", {})  # request.state: shared however the scope is copied
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: BaseRoute | None = scope.get("route")
            template = getattr(route, "path", UNMATCHED)
            method = scope["method"] if scope["method"] in METHODS else "other"
            REQUEST_DURATION.labels(method, template, str(status)).observe(time.perf_counter() - started)
            if INGEST_TAG in getattr(route, "tags", ()):
                integration = state.get(INTEGRATION_STATE, UNKNOWN_INTEGRATION)
                EVENTS_INGESTED.labels(integration, ingest_result(status)).inc()


def metrics_routes(app: FastAPI) -> None:
    """``GET /metrics`` (left out of the API reference: it is for Prometheus) and the middleware."""
    app.add_middleware(Measured)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
