"""``/readyz`` tells a load balancer whether Temporal answers; ``/healthz`` only that the process does."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from escalation.settings import Settings
from starter.api import Escalations
from starter.connection import TemporalUnreachableError
from starter.web.app import create_app
from tests.support import binary
from tests.web.conftest import ENV, Api, config_with_integrations

NOT_REACHABLE = {"detail": "Temporal is not reachable; try again shortly"}


async def test_ready_when_temporal_answers(api: Api) -> None:
    response = await api.http.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


async def readyz(tmp_path: Path, factory: object) -> httpx.Response:
    app = create_app(Settings(config_dir=config_with_integrations(tmp_path)), factory, ENV)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        assert (await http.get("/healthz")).status_code == 200
        return await http.get("/readyz")


async def test_not_ready_while_temporal_cannot_be_reached(tmp_path: Path) -> None:
    async def unreachable() -> Escalations:
        raise TemporalUnreachableError("could not connect to Temporal at 127.0.0.1:1")

    response = await readyz(tmp_path, unreachable)
    assert response.status_code == 503 and response.json() == NOT_REACHABLE
    assert "127.0.0.1" not in response.text


@pytest.mark.e2e
async def test_not_ready_once_temporal_stops_answering(tmp_path: Path) -> None:
    server = await WorkflowEnvironment.start_local(dev_server_existing_path=binary("temporal"))
    connected = Escalations(server.client, Settings())

    async def factory() -> Escalations:
        return connected

    app = create_app(Settings(config_dir=config_with_integrations(tmp_path)), factory, ENV)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        try:
            assert (await http.get("/readyz")).status_code == 200
        finally:
            await server.shutdown()
        response = await http.get("/readyz")
    assert response.status_code == 503 and response.json() == NOT_REACHABLE
