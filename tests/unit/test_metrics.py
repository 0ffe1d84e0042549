"""The worker's metrics: what a page and a close-out count, and where the metrics are served."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.metrics import REGISTRY, first_page, observe_notify, sdk_runtime, serve
from escalation import ladder
from escalation.config import ConfigError
from escalation.models import Channel
from escalation.settings import Settings
from escalation.state import Delivery, NotifyResult, Phase, Step
from starter.embedded import Embedded, EmbeddedServerError, MetricsPorts, run_embedded, run_worker_only
from tests.scrape import growth, registry_samples


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_only_an_escalations_first_page_opens_it() -> None:
    step = Step(round=1, tier=2, phase=Phase.BACKUP)
    keys = [
        ladder.idempotency_key("incident:payments:db-down", "run-1", step, page) for page in (1, 2, 10, 11)
    ]
    assert [first_page(key) for key in keys] == [True, False, False, False]


def test_a_page_counts_each_delivery_by_channel_and_outcome() -> None:
    before = registry_samples(REGISTRY)
    result = NotifyResult(
        deliveries=[
            Delivery(responder="ana", channel=Channel.CONSOLE, delivered=True),
            Delivery(responder="ana", channel=Channel.WEBHOOK, delivered=False, detail="HTTP 503"),
            Delivery(responder="ben", channel=Channel.WEBHOOK, delivered=True),
            Delivery(responder="ghost", channel=None, delivered=False, detail="not in the roster"),
        ]
    )
    observe_notify(result, 0.3)
    observe_notify(None, 2.0)
    delta = growth(before, registry_samples(REGISTRY))

    assert delta("escalation_pages_total", channel="console", outcome="delivered") == 1
    assert delta("escalation_pages_total", channel="webhook", outcome="delivered") == 1
    assert delta("escalation_pages_total", channel="webhook", outcome="failed") == 1
    assert delta("escalation_pages_total", channel="none", outcome="failed") == 1
    assert delta("escalation_notify_duration_seconds_count", outcome="reached") == 1
    assert delta("escalation_notify_duration_seconds_bucket", outcome="reached", le="0.25") == 0
    assert delta("escalation_notify_duration_seconds_bucket", outcome="reached", le="0.5") == 1
    assert delta("escalation_notify_duration_seconds_count", outcome="error") == 1


def test_metrics_ports_are_settings_and_a_bad_one_names_its_variable() -> None:
    settings = Settings.from_env({"ESCALATION_METRICS_PORT": "9464", "ESCALATION_SDK_METRICS_PORT": "0"})
    assert (settings.metrics_port, settings.sdk_metrics_port, settings.metrics_host) == (9464, 0, "127.0.0.1")
    assert sdk_runtime(settings) is None
    with pytest.raises(ConfigError, match="ESCALATION_SDK_METRICS_PORT"):
        Settings.from_env({"ESCALATION_SDK_METRICS_PORT": "70000"})


def test_a_taken_port_stops_the_worker_naming_the_variable_to_change(taken_port: int) -> None:
    with pytest.raises(ConfigError) as worker:
        serve(Settings(metrics_port=taken_port))
    assert f"ESCALATION_METRICS_PORT: cannot serve metrics on 127.0.0.1:{taken_port}" in str(worker.value)
    assert "pick a free port, or 0 to turn it off" in str(worker.value)
    with pytest.raises(ConfigError) as sdk:
        sdk_runtime(Settings(sdk_metrics_port=taken_port))
    assert f"ESCALATION_SDK_METRICS_PORT: cannot serve metrics on 127.0.0.1:{taken_port}" in str(sdk.value)


def test_up_serves_metrics_unless_told_not_to() -> None:
    assert MetricsPorts.chosen(None, None, Settings()) == MetricsPorts(9464, 9465)
    from_env = Settings(metrics_port=0, sdk_metrics_port=9999, metrics_host="0.0.0.0")
    assert MetricsPorts.chosen(None, None, from_env) == MetricsPorts(0, 9999, "0.0.0.0")
    assert MetricsPorts.chosen(0, 1234, from_env) == MetricsPorts(0, 1234, "0.0.0.0")
    off = MetricsPorts(0, 0)
    assert off.env() == {"ESCALATION_METRICS_PORT": "0", "ESCALATION_SDK_METRICS_PORT": "0"}
    assert off.describe(8080) == "Prometheus metrics: API http://127.0.0.1:8080/metrics"
    assert MetricsPorts().describe(8080) == (
        "Prometheus metrics: API http://127.0.0.1:8080/metrics, worker http://127.0.0.1:9464/metrics, "
        "Temporal SDK http://127.0.0.1:9465/metrics"
    )


def test_up_refuses_a_taken_metrics_port_naming_the_flag(taken_port: int) -> None:
    with pytest.raises(EmbeddedServerError, match=f"port {taken_port} is already in use; pick another with "
                       "--sdk-metrics-port, or 0 to turn it off"):  # fmt: skip
        MetricsPorts(worker=0, sdk=taken_port).check_free()


def test_up_refuses_one_port_for_two_servers_before_starting_anything(tmp_path: Path) -> None:
    with pytest.raises(
        EmbeddedServerError, match="--metrics-port and --sdk-metrics-port are both 9500; give each"
    ):
        run_worker_only({}, 8080, MetricsPorts(9500, 9500))
    with pytest.raises(EmbeddedServerError, match="--api-port and --sdk-metrics-port are both 8080"):
        run_worker_only({}, 8080, MetricsPorts(0, 8080))
    with pytest.raises(EmbeddedServerError, match="--ui-port and --metrics-port are both 8233"):
        run_embedded(Embedded(tmp_path / "data", 7233, 8233, 8080, MetricsPorts(8233, 0)))
    assert not (tmp_path / "data").exists()
