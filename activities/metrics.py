"""The worker's Prometheus metrics, and the Temporal SDK's own, each on its port.

The escalation metrics are observed around the notify and close-out activities by a worker
interceptor, so the activities themselves stay about paging and records. Labels are few and
bounded (channel, outcome, severity): never an incident id, a title or a contact detail, since
whoever scrapes ``/metrics`` sees every label.

An escalation is counted as opened when its first page starts (the page numbered 1 on its first
attempt): every escalation has exactly one, whichever process triggered it, and the worker that
sends it also closes it out, so opened and closed are counted on the same side.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    start_http_server,
)
from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from escalation.config import ConfigError
from escalation.settings import Settings
from escalation.state import (
    CLOSE_OUT_ACTIVITY,
    NOTIFY_ACTIVITY,
    EscalationRecord,
    NotifyRequest,
    NotifyResult,
)


def process_registry() -> CollectorRegistry:
    """A registry with the process's CPU, memory, file descriptors and garbage collection."""
    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


REGISTRY = process_registry()

MINUTE, HOUR, DAY = 60, 3600, 86400
PAGES = Counter(
    "escalation_pages",
    "Messages to responders, one per responder and channel, by channel and outcome (delivered|failed)",
    ["channel", "outcome"],
    registry=REGISTRY,
)
NOTIFY_DURATION = Histogram(
    "escalation_notify_duration_seconds",
    "How long paging one ladder step took, retries included, by outcome (reached|unreached|error)",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
    registry=REGISTRY,
)
OPENED = Counter(
    "escalation_opened",
    "Escalations opened (at their first page), by severity",
    ["severity"],
    registry=REGISTRY,
)
CLOSED = Counter(
    "escalation_closed",
    "Escalations closed out, by outcome (resolved|cancelled) and severity",
    ["outcome", "severity"],
    registry=REGISTRY,
)
TIME_TO_ACKNOWLEDGE = Histogram(
    "escalation_time_to_acknowledge_seconds",
    "From trigger to the first acknowledgement, observed at close-out, by severity",
    ["severity"],
    buckets=(
        30,
        MINUTE,
        2 * MINUTE,
        5 * MINUTE,
        10 * MINUTE,
        15 * MINUTE,
        30 * MINUTE,
        HOUR,
        2 * HOUR,
        4 * HOUR,
        12 * HOUR,
        DAY,
    ),
    registry=REGISTRY,
)
TIME_TO_RESOLVE = Histogram(
    "escalation_time_to_resolve_seconds",
    "From trigger to resolution, observed at close-out, by severity",
    ["severity"],
    buckets=(5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, DAY, 3 * DAY, 7 * DAY),
    registry=REGISTRY,
)
NO_CHANNEL = "none"
"""The channel label of a responder who could not be looked up at all."""


def first_page(idempotency_key: str) -> bool:
    """Whether a page is its escalation's first: ``ladder.idempotency_key`` numbers the pages from
    1, across continue-as-new, and a reopened incident is a new escalation that starts again at 1."""
    return idempotency_key.endswith("/p1")


def observe_notify(result: NotifyResult | None, seconds: float) -> None:
    """A finished page (``result`` None: the activity failed)."""
    if result is None:
        NOTIFY_DURATION.labels("error").observe(seconds)
        return
    reached = any(delivery.delivered for delivery in result.deliveries)
    NOTIFY_DURATION.labels("reached" if reached else "unreached").observe(seconds)
    for delivery in result.deliveries:
        channel = delivery.channel.value if delivery.channel else NO_CHANNEL
        PAGES.labels(channel, "delivered" if delivery.delivered else "failed").inc()


def observe_close_out(record: EscalationRecord) -> None:
    severity = record.severity.value
    CLOSED.labels(record.outcome.value, severity).inc()
    if record.time_to_acknowledge_seconds is not None:
        TIME_TO_ACKNOWLEDGE.labels(severity).observe(record.time_to_acknowledge_seconds)
    if record.time_to_resolve_seconds is not None:
        TIME_TO_RESOLVE.labels(severity).observe(record.time_to_resolve_seconds)


class MetricsInterceptor(Interceptor):
    """Observes the notify and close-out activities; other activities pass untouched."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Observed(next)


class _Observed(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.activity_type == NOTIFY_ACTIVITY:
            return await self._page(input, info.attempt)
        result = await self.next.execute_activity(input)
        if info.activity_type == CLOSE_OUT_ACTIVITY:
            observe_close_out(input.args[0])
        return result

    async def _page(self, input: ExecuteActivityInput, attempt: int) -> Any:
        request: NotifyRequest = input.args[0]
        if attempt == 1 and first_page(request.idempotency_key):
            OPENED.labels(request.severity.value).inc()
        started, result = time.monotonic(), None
        try:
            result = await self.next.execute_activity(input)
            return result
        finally:
            observe_notify(result, time.monotonic() - started)


def serve(settings: Settings) -> None:
    """Serve the registry at ``/metrics`` on ``ESCALATION_METRICS_PORT`` (unset or 0: not at all),
    from a daemon thread that lives as long as the process."""
    if not settings.metrics_port:
        return
    try:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=REGISTRY)
    except OSError as error:
        address = f"{settings.metrics_host}:{settings.metrics_port}"
        raise _cannot_listen("ESCALATION_METRICS_PORT", address, error) from None


def sdk_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics at ``/metrics`` on ``ESCALATION_SDK_METRICS_PORT``
    (unset or 0: None, the SDK's default runtime). Histograms stay in milliseconds and names
    unsuffixed, as Temporal's dashboards for Core-based SDKs expect."""
    if not settings.sdk_metrics_port:
        return None
    address = f"{settings.metrics_host}:{settings.sdk_metrics_port}"
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    except Exception as error:  # the SDK's native layer reports a taken port as a bare exception
        raise _cannot_listen("ESCALATION_SDK_METRICS_PORT", address, error) from None


def _cannot_listen(variable: str, address: str, error: Exception) -> ConfigError:
    return ConfigError(
        [f"{variable}: cannot serve metrics on {address} ({error}); pick a free port, or 0 to turn it off"]
    )
