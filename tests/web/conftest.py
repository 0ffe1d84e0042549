"""The HTTP app over httpx, with an Escalations bound to a worker on the time-skipping server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from escalation.config import load_config
from escalation.settings import SECRET_ENV, Settings
from starter.api import Escalations
from starter.web import tokens
from starter.web.app import create_app
from tests.support import example_config
from tests.workflow.conftest import Ladder, running_ladder

API_SECRET = "test-only-api-secret-of-at-least-32-bytes"
KEY = "test-only-payments-key"
OTHER_KEY = "test-only-other-key"
ENV = {"PAYMENTS_KEY": KEY, "OTHER_KEY": OTHER_KEY, SECRET_ENV: API_SECRET}
INTEGRATIONS = """
integrations:
  payments-alerts:
    service: payments
    key_env: PAYMENTS_KEY
    rate_limit_per_minute: 30
  other-alerts:
    service: payments
    key_env: OTHER_KEY
"""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    http: httpx.AsyncClient
    ladder: Ladder
    transport: httpx.AsyncBaseTransport
    opened: list[str] = field(default_factory=list)

    def token(
        self, responder: str = "ana", secret: str = API_SECRET, ttl: timedelta = timedelta(hours=1)
    ) -> dict[str, str]:
        return bearer(tokens.issue(responder, ttl, secret))

    async def enqueue(self, body: dict[str, Any]) -> httpx.Response:
        response = await self.http.post("/v2/enqueue", json={"routing_key": KEY} | body)
        if response.status_code == 202 and body.get("event_action") == "trigger":
            self.opened.append(f"incident:payments:{response.json()['dedup_key']}")
        return response


def config_with_integrations(tmp_path: Path) -> Path:
    directory = example_config(tmp_path / "config")
    (directory / "integrations.yaml").write_text(INTEGRATIONS, encoding="utf-8")
    return directory


@asynccontextmanager
async def running_api(
    env: WorkflowEnvironment, directory: Path, tmp_path: Path, api_env: Mapping[str, str] = ENV
) -> AsyncIterator[Api]:
    """The app over ``directory``'s configuration with ``api_env``, and a worker with the same secrets
    and record store."""
    worker_env = {**os.environ, **api_env}
    async with running_ladder(env, load_config(directory), tmp_path, worker_env) as ladder:

        async def bound() -> Escalations:
            return ladder.api

        settings = Settings(
            config_dir=directory, task_queue=ladder.task_queue, database_url=ladder.store.location
        )
        app = create_app(settings, bound, api_env)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            running = Api(http, ladder, transport)
            yield running
        ladder.started.extend(ladder.client.get_workflow_handle(i) for i in running.opened)


@pytest.fixture
async def api(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(time_skipping_env, config_with_integrations(tmp_path), tmp_path) as running:
        yield running
