"""A page's signed action links: GET shows and changes nothing, POST acts as the link's responder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from activities.action_links import LinkClaims, mint
from escalation.state import StatusView
from starter.web.tokens import issue
from tests.web.conftest import API_SECRET, Api, bearer
from tests.web.test_responders import opened


def link(view: StatusView, act: str, responder: str = "ana", **changes: object) -> str:
    """The path of the link a page of ``view``'s current step would carry."""
    claims = LinkClaims(
        incident_id=view.incident_id,
        triggered_at=view.triggered_at,
        responder=responder,
        action=act,
        round=view.round,
        tier_name=view.tier_name,
        phase=view.phase,
        expires=datetime.now(UTC) + timedelta(hours=1),
    )
    secret = str(changes.pop("secret", API_SECRET))
    return "/a/" + mint(claims.model_copy(update=changes), secret)


async def current(api: Api) -> StatusView:
    """The opened incident once its first page is recorded, so nothing else changes it meanwhile."""
    handle = api.ladder.client.get_workflow_handle(await opened(api))
    return await api.ladder.until(handle, lambda view: any(e.kind == "notified" for e in view.timeline))


async def post(api: Api, path: str, **form: str) -> httpx.Response:
    return await api.http.post(path, data=form)


async def test_acknowledge_link_shows_the_incident_then_acknowledges_via_link(api: Api) -> None:
    view = await current(api)
    shown = await api.http.get(link(view, "acknowledge"))
    assert shown.status_code == 200
    assert "Acknowledge as ana" in shown.text and "Primary database down" in shown.text
    assert shown.headers["cache-control"] == "no-store" and shown.headers["referrer-policy"] == "no-referrer"

    acted = await post(api, link(view, "acknowledge"), action="acknowledge")
    assert acted.status_code == 200, acted.text
    assert f"{view.incident_id} acknowledged by ana (tier frontline)" in acted.text
    after = await api.ladder.api.status(view.incident_id)
    assert after.status == "acknowledged" and after.acknowledged_by == "ana"
    assert after.timeline[-1].kind == "acknowledged" and after.timeline[-1].via == "link"


async def test_resolve_link_asks_for_the_summary_and_resolves(api: Api) -> None:
    view = await current(api)
    shown = await api.http.get(link(view, "resolve"))
    assert 'name="summary"' in shown.text and "required" in shown.text
    blank = await post(api, link(view, "resolve"), summary=" ")
    assert blank.status_code == 409 and "summary" in blank.text
    assert (await api.ladder.api.status(view.incident_id)).status == "triggered"

    acted = await post(api, link(view, "resolve"), summary="restarted the primary", root_cause="full disk")
    assert acted.status_code == 200, acted.text
    after = await api.ladder.api.status(view.incident_id)
    assert after.status == "resolved" and after.resolution and after.resolution.root_cause == "full disk"

    again = await post(api, link(view, "resolve"), summary="again")
    assert again.status_code == 200 and "already resolved by ana; nothing was done" in again.text
    assert await api.ladder.api.status(view.incident_id) == after


async def test_escalate_link_hands_over_once_and_then_reports_where_it_is(api: Api) -> None:
    view = await current(api)
    path = link(view, "escalate")
    assert 'name="reason"' in (await api.http.get(path)).text
    acted = await post(api, path, reason="needs the database team")
    assert acted.status_code == 200, acted.text
    moved = await api.ladder.api.status(view.incident_id)
    escalated = [event for event in moved.timeline if event.kind == "escalated"]
    assert moved.tier_name == "supervisor" and escalated[-1].via == "link" and escalated[-1].actor == "ana"

    again = await post(api, path, reason="needs the database team")
    assert again.status_code == 200 and "has moved to tier supervisor (primary) since this page" in again.text
    assert (await api.ladder.api.status(view.incident_id)).timeline[: len(moved.timeline)] == moved.timeline
    assert "Escalate as" not in (await api.http.get(path)).text


async def test_get_changes_nothing(api: Api) -> None:
    view = await current(api)
    for action in ("acknowledge", "resolve", "escalate"):
        for _ in range(2):
            assert (await api.http.get(link(view, action))).status_code == 200
    assert await api.ladder.api.status(view.incident_id) == view


async def test_a_link_used_twice_reports_the_current_state(api: Api) -> None:
    view = await current(api)
    assert (await post(api, link(view, "acknowledge"))).status_code == 200
    after = await api.ladder.api.status(view.incident_id)
    again = await post(api, link(view, "acknowledge"))
    assert again.status_code == 409
    assert "already acknowledged by ana at " in again.text and "UTC" in again.text
    assert await api.ladder.api.status(view.incident_id) == after


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"secret": "another-secret-of-at-least-32-bytes!!"}, "was changed or was not made here"),
        ({"expires": datetime.now(UTC) - timedelta(minutes=1)}, "this link has expired"),
        ({"triggered_at": datetime(2020, 1, 1, tzinfo=UTC)}, "belongs to an earlier escalation"),
        ({"action": "cancel"}, "was changed or was not made here"),
    ],
    ids=["tampered", "expired", "other-escalation", "not-a-link-action"],
)
async def test_bad_links_are_403_and_change_nothing(api: Api, changes: dict, sentence: str) -> None:
    view = await current(api)
    path = link(view, "acknowledge", **changes)
    for response in (await api.http.get(path), await post(api, path)):
        assert response.status_code == 403 and sentence in response.text
        assert "Acknowledge as" not in response.text
    assert await api.ladder.api.status(view.incident_id) == view


async def test_tokens_are_not_interchangeable(api: Api) -> None:
    view = await current(api)
    edited = link(view, "acknowledge")[:-3] + "AAA"
    assert (await post(api, edited)).status_code == 403
    responder_token = issue("ana", timedelta(hours=1), API_SECRET)
    assert (await post(api, f"/a/{responder_token}")).status_code == 403
    as_bearer = await api.http.get(
        f"/v1/incidents/{view.incident_id}", headers=bearer(link(view, "acknowledge").removeprefix("/a/"))
    )
    assert as_bearer.status_code == 401
    other_action = await post(api, link(view, "acknowledge"), action="resolve", summary="x")
    assert other_action.status_code == 403 and "for acknowledge only" in other_action.text
    assert await api.ladder.api.status(view.incident_id) == view


async def test_a_responder_the_rules_refuse_sees_the_rules_sentence(api: Api) -> None:
    view = await current(api)
    refused = await post(api, link(view, "escalate", responder="mallory"), reason="x")
    assert refused.status_code == 409 and "not a target of policy" in refused.text
    assert await api.ladder.api.status(view.incident_id) == view
