"""The CLI's HTTP client against the real app: the API's answers become the direct path's errors."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from escalation.actions import ActionRequest, named
from escalation.settings import Settings
from starter.api import EscalationError, Escalations, RefusedError, UnknownIncidentError
from starter.api_client import ApiClient, ApiInputError
from starter.web import door as web_door
from starter.web import tokens
from starter.web.app import create_app
from tests.support import EXAMPLE_CONFIG
from tests.web.conftest import API_SECRET, ENV, Api
from tests.web.test_responders import opened

ACKNOWLEDGE = named("acknowledge")


def client(api: Api, responder: str = "ana", secret: str = API_SECRET) -> ApiClient:
    return ApiClient("http://api", tokens.issue(responder, timedelta(hours=1), secret), api.transport)


def ack(responder: str, **fields: str) -> ActionRequest:
    return ACKNOWLEDGE.request.model_validate({"responder": responder, **fields})


async def test_a_responder_acts_and_reads_as_the_tokens_responder(api: Api) -> None:
    incident_id = await opened(api)
    ana = client(api)
    assert ana.responder == "ana"
    result = await ana.act(incident_id, ACKNOWLEDGE, ack("ana", note="on it"))
    assert (result.status, result.acknowledged_by) == ("acknowledged", "ana")
    status = await ana.status(incident_id)
    assert status.acknowledged_by == "ana"
    assert [event.note for event in status.timeline if event.kind == "acknowledged"] == ["on it"]


async def test_refusals_and_unknown_incidents_raise_what_the_direct_path_raises(api: Api) -> None:
    incident_id = await opened(api)
    await client(api).act(incident_id, ACKNOWLEDGE, ack("ana"))
    with pytest.raises(RefusedError, match="already acknowledged by ana"):
        await client(api, "ben").act(incident_id, ACKNOWLEDGE, ack("ben"))
    with pytest.raises(UnknownIncidentError):
        await client(api).status("incident:payments:nothing-here")


async def test_a_foreign_token_is_refused_and_bad_filters_are_bad_input(api: Api) -> None:
    foreign = client(api, secret="another-secret-of-at-least-32-bytes-long")
    with pytest.raises(EscalationError, match="refused the token in ESCALATION_TOKEN") as refused:
        await foreign.list()
    assert "eyJ" not in str(refused.value), "the token is never echoed"
    with pytest.raises(ApiInputError, match=r"^service: "):
        await client(api).list(service="bad:service")


def test_a_token_that_is_no_token_is_bad_input() -> None:
    with pytest.raises(ApiInputError, match=r"^ESCALATION_TOKEN: is not a token"):
        ApiClient("http://api", "not-a-token")


async def test_the_api_answers_503_while_temporal_is_out_of_reach_then_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(web_door, "CONNECT_WAIT_SECONDS", 0)
    reachable = asyncio.Event()

    class Connected(Escalations):
        def __init__(self) -> None:
            pass

        async def reachable(self) -> bool:
            return True

    async def waits_for_temporal() -> Escalations:
        await reachable.wait()
        return Connected()

    app = create_app(Settings(config_dir=EXAMPLE_CONFIG), waits_for_temporal, ENV)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        waiting = await asyncio.wait_for(http.get("/readyz"), 10)
        assert waiting.status_code == 503 and waiting.json()["detail"].startswith("Temporal is not reachable")
        assert (await http.get("/healthz")).status_code == 200
        reachable.set()
        await app.state.door.start_connecting()
        assert (await asyncio.wait_for(http.get("/readyz"), 10)).json() == {"status": "ready"}
