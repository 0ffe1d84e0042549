"""Runs a worker: every workflow and activity of the escalation orchestrator on one task queue.

    python worker.py

Connects with Temporal's standard environment configuration (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TLS, TEMPORAL_API_KEY, TOML profiles) and reads ESCALATION_* settings;
serves Prometheus metrics on ESCALATION_METRICS_PORT and the Temporal SDK's on
ESCALATION_SDK_METRICS_PORT when they are set (docs/metrics.md).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Mapping
from typing import TypeVar

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.action_links import ActionLinks, action_links
from activities.close_out import CloseOut
from activities.knowledge import store_lookup
from activities.metrics import MetricsInterceptor, sdk_runtime, serve
from activities.notices import Notices
from activities.notify import Notifier
from activities.pages import load_worker_config
from activities.reviews import ReviewRecords
from activities.store import RecordStore
from activities.targets import TargetResolver, current_config
from escalation.config import Config, ConfigError
from escalation.settings import DEFAULT_UI_URL, SECRET_ENV, Settings
from starter.connection import TemporalConnectionError, connect_with_retry, ensure_search_attributes
from starter.logs import configure_logging
from workflows.escalation import EscalationWorkflow
from workflows.reply_codes import ReplyCodesWorkflow
from workflows.review import ReviewWorkflow

T = TypeVar("T")
SANDBOX = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())
"""The sandbox still refuses non-deterministic calls in workflow code, but imports nothing again per
workflow run: the project's modules keep no mutable state, and re-importing them for every run
was the largest share of the worker's CPU (docs/benchmarks.md)."""


def build_worker(
    client: Client,
    task_queue: str,
    config: Config,
    store: RecordStore,
    *,
    ui_url: str = DEFAULT_UI_URL,
    env: Mapping[str, str] | None = None,
    links: ActionLinks | None = None,
) -> Worker:
    """The one place that decides which workflows and activities a worker runs.

    ``env`` holds the channels' secrets (default: this process's environment); ``links`` mints
    the pages' signed action links (and the review link in a review owner's notice), and with
    them SMS pages carry reply codes kept by ``ReplyCodesWorkflow`` on this task queue. An
    escalation's first page carries the similar past incidents ``store`` finds.
    """
    env = os.environ if env is None else env
    notifier = Notifier(config, env, ui_url, client.namespace, links, client, similar=store_lookup(store))
    notices = Notices(notifier.deliverer, ui_url, client.namespace, links)
    return Worker(
        client,
        task_queue=task_queue,
        workflow_runner=SANDBOX,
        workflows=[EscalationWorkflow, ReplyCodesWorkflow, ReviewWorkflow],
        activities=[
            notifier.notify,
            notices.send_notice,
            CloseOut(store, config, client, task_queue, notices).close_out,
            ReviewRecords(store).set_review,
            TargetResolver(current_config(config)).resolve_targets,
        ],
        interceptors=[MetricsInterceptor()],
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, waiting for Temporal first if it is down (it may be restarting)."""
    config = load_worker_config(settings.config_dir)
    store = RecordStore.from_settings(settings)
    await asyncio.to_thread(store.upgrade)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    serve(settings)  # already while waiting for Temporal; the server lives as long as the process
    client = await _unless_stopped(connect_with_retry(runtime=sdk_runtime(settings)), stop)
    if client is None:
        return
    await ensure_search_attributes(client)
    log = structlog.get_logger().bind(task_queue=settings.task_queue, namespace=client.namespace)
    links = action_links(settings, os.environ)
    if links is None:
        log.warning(f"pages carry no action links: set ESCALATION_PUBLIC_URL and {SECRET_ENV} to add them")
    async with build_worker(client, settings.task_queue, config, store, ui_url=settings.ui_url, links=links):
        log.info("worker ready", policies=sorted(config.policies), database=store.location)
        await stop.wait()
        log.info("worker stopping")


async def _unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result, or None (``work`` cancelled) if ``stop`` is set first."""
    done, pending = await asyncio.wait(
        [asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    return None if stop.is_set() else done.pop().result()


def main() -> None:
    configure_logging()
    try:
        asyncio.run(run_worker(Settings.from_env()))
    except (ConfigError, TemporalConnectionError) as error:
        print(f"worker: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
