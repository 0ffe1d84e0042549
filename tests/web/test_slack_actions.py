"""A page's Slack buttons: signed clicks act as the roster's responder; forged ones change nothing."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier
from temporalio.testing import WorkflowEnvironment

from activities.action_links import PageLinks
from activities.pages import Page, PageTemplates, Recipient
from escalation.replies import PagedStep
from escalation.settings import Settings
from escalation.state import StatusView
from starter.api import Escalations
from starter.connection import TemporalConnectionError
from starter.web.app import create_app
from starter.web.slack_actions import NOT_ON_ROSTER, SlackAction, SlackMessage, response_url_allowed, updated
from tests.receivers import Receivers
from tests.support import EXAMPLE_CONFIG
from tests.web.conftest import ENV, Api, config_with_integrations, running_api
from tests.web.test_links import current

SIGNING_SECRET = "test-only-slack-signing-secret"
SLACK_ENV = {**ENV, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
SLACK_APP = "slack_app:\n  signing_secret_env: SLACK_SIGNING_SECRET\n"
ANA, EVE, STRANGER = "U0ANA0001", "U0EVE0001", "U0NOTHERE1"
TEMPLATES = PageTemplates(EXAMPLE_CONFIG / "templates")
RESOLVE_LINK = "https://escalations.test/a/resolve-token"


def slack_config(tmp_path: Path) -> Path:
    """The web tests' configuration plus the Slack app, and a Slack id for exec-eve (management tier)."""
    directory = config_with_integrations(tmp_path)
    channels = directory / "channels.yaml"
    channels.write_text(channels.read_text() + SLACK_APP)
    roster = directory / "roster.yaml"
    eve = 'contact: {email: eve@example.com, phone: "+15550100402", slack: {webhook: team-room}'
    assert eve in roster.read_text()
    roster.write_text(
        roster.read_text().replace(eve, eve.replace("team-room}", f"team-room, mention: {EVE}}}"))
    )
    return directory


@pytest.fixture
async def slack(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(time_skipping_env, slack_config(tmp_path), tmp_path, SLACK_ENV) as running:
        yield running


def message(view: StatusView, **step: object) -> dict[str, Any]:
    """The Slack message the worker sends for ``view``'s current step, rendered by the shipped template."""
    page = Page.build(
        incident_id=view.incident_id, incident=view.incident, severity=view.severity, tier=view.tier_name,
        phase=view.phase.value, round=view.round + 1, deadline=datetime(2026, 11, 25, 3, 15, tzinfo=UTC),
        recipients=[Recipient(id="ana", name="Ana Frontline",
                              links=PageLinks(acknowledge="https://x/a", resolve=RESOLVE_LINK, escalate="https://x/e"))],
        web_ui_url="http://ui.test/x", idempotency_key="k",
        step=PagedStep(incident_id=view.incident_id, triggered_at=view.triggered_at, round=view.round,
                      tier_name=view.tier_name, phase=view.phase).model_copy(update=step),
    )  # fmt: skip
    return TEMPLATES.slack_message(page, mentions=f"<@{ANA}>")


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [element for block in blocks if block["type"] == "actions" for element in block["elements"]]


def click(
    sent: dict[str, Any], action_id: str, user: str = ANA, response_url: str = "", **fields: Any
) -> dict[str, Any]:
    """The block_actions payload Slack posts when ``user`` clicks ``action_id`` on ``sent``."""
    [block] = [
        b for b in sent["blocks"] if any(e.get("action_id") == action_id for e in b.get("elements", []))
    ]
    [button] = [e for e in block["elements"] if e["action_id"] == action_id]
    action = {"type": "button", "action_id": action_id, "block_id": block["block_id"], "text": button["text"],
              "action_ts": "1764040000.000200"}  # fmt: skip
    if "value" in button:
        action["value"] = button["value"]
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0001"},
        "team": {"id": "T0001", "domain": "example"},
        "container": {"type": "message", "message_ts": "1764040000.000100", "channel_id": "C0001"},
        "channel": {"id": "C0001", "name": "team-room"},
        "message": {"type": "message", "ts": "1764040000.000100"} | sent,
        "response_url": response_url,
        "actions": [action],
    } | fields


def signed(
    form: dict[str, str], secret: str = SIGNING_SECRET, age: float = 0
) -> tuple[bytes, dict[str, str]]:
    """The form as Slack sends it, signed ``age`` seconds ago (negative: in the future)."""
    body = urlencode(form).encode()
    timestamp = str(int(time.time() - age))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body) or ""
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


async def post(api: Api, payload: dict[str, Any], **signing: Any) -> httpx.Response:
    body, headers = signed({"payload": json.dumps(payload)}, **signing)
    return await api.http.post("/v1/slack/actions", content=body, headers=headers)


def response_url(receivers: Receivers, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{receivers.http_port}/slack/response"


def responses(receivers: Receivers) -> list[dict[str, Any]]:
    return [page.content for page in receivers.inbox.pages if page.endpoint == "response"]


async def test_acknowledge_acts_as_the_roster_responder_and_replaces_the_buttons(
    slack: Api, receivers: Receivers
) -> None:
    view = await current(slack)
    sent = message(view)
    before = datetime.now(UTC)
    answered = await post(slack, click(sent, "escalation:acknowledge", response_url=response_url(receivers)))
    assert answered.status_code == 200, answered.text
    minutes = {f"{moment:%H:%M} UTC" for moment in (before, datetime.now(UTC))}

    after = await slack.ladder.api.status(view.incident_id)
    assert after.status == "acknowledged" and after.acknowledged_by == "ana"
    assert after.timeline[-1].kind == "acknowledged" and after.timeline[-1].via == "slack"

    update = answered.json()
    assert update["replace_original"] is True and update["text"] == sent["text"]
    assert update["blocks"][:-3] == sent["blocks"][:-2], "the page itself stays"
    assert update["blocks"][-1] == sent["blocks"][-1]
    context = update["blocks"][-3]
    assert context["type"] == "context"
    assert context["elements"][0]["text"] in {
        f"acknowledged by Ana Frontline (frontline) at {m}" for m in minutes
    }
    assert [b.get("text", {}).get("text") for b in buttons(update["blocks"])] == [
        "Resolve", "Open in Temporal Web UI"
    ], "acting buttons are gone; the resolve link and the Web UI still apply"  # fmt: skip
    assert buttons(update["blocks"])[0]["url"] == RESOLVE_LINK
    assert responses(receivers) == [update], "the same update went to Slack's response_url"


async def test_a_click_the_worker_is_slow_to_apply_is_answered_at_once_and_updated_later(
    slack: Api, receivers: Receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack shows the user an error after 3 s: the 200 does not wait for a slow worker."""
    monkeypatch.setattr("starter.web.slack_actions.ANSWER_WITHIN", 0)
    view = await current(slack)
    sent = message(view)

    answered = await post(slack, click(sent, "escalation:acknowledge", response_url=response_url(receivers)))

    assert (answered.status_code, answered.json()) == (200, {})
    after = await slack.ladder.api.status(view.incident_id)
    assert after.acknowledged_by == "ana"
    [update] = responses(receivers)
    assert update["replace_original"] is True
    assert update["blocks"][-3]["elements"][0]["text"].startswith("acknowledged by Ana Frontline (frontline)")


async def test_escalate_hands_over_once_and_a_second_click_reports_where_it_is(
    slack: Api, receivers: Receivers
) -> None:
    view = await current(slack)
    payload = click(message(view), "escalation:escalate")
    answered = await post(slack, payload)
    assert answered.status_code == 200, answered.text
    moved = await slack.ladder.api.status(view.incident_id)
    [escalated] = [event for event in moved.timeline if event.kind == "escalated"]
    assert moved.tier_name == "supervisor"
    assert (escalated.actor, escalated.via, escalated.note) == ("ana", "slack", "escalated from Slack")
    line = answered.json()["blocks"][-3]["elements"][0]["text"]
    assert line.startswith("escalated to tier supervisor by Ana Frontline at ")

    again = await post(slack, payload)
    assert again.status_code == 200
    assert again.json() == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f"{view.incident_id} has moved to tier supervisor (primary) since this page; "
        "nothing was escalated",
    }
    later = await slack.ladder.api.status(view.incident_id)
    assert [e for e in later.timeline if e.kind == "escalated"] == [escalated], "escalated once only"


@pytest.mark.parametrize(
    ("signing", "headers", "sentence"),
    [
        ({"age": 301}, {}, "more than 5 minutes off"),
        ({"age": -400}, {}, "more than 5 minutes off"),
        ({"secret": "another-signing-secret"}, {}, "X-Slack-Signature: does not match"),
        ({}, {"X-Slack-Signature": "v0=" + "0" * 64}, "X-Slack-Signature: does not match"),
        ({}, {"X-Slack-Request-Timestamp": "soon"}, "X-Slack-Request-Timestamp: missing or not a number"),
    ],
    ids=["stale", "future", "other-secret", "forged", "no-timestamp"],
)
async def test_unverified_requests_are_401_and_change_nothing(
    slack: Api, receivers: Receivers, signing: dict[str, Any], headers: dict[str, str], sentence: str
) -> None:
    view = await current(slack)
    payload = click(message(view), "escalation:acknowledge", response_url=response_url(receivers))
    body, signed_headers = signed({"payload": json.dumps(payload)}, **signing)
    refused = await slack.http.post("/v1/slack/actions", content=body, headers=signed_headers | headers)
    assert refused.status_code == 401 and sentence in refused.json()["detail"]
    assert await slack.ladder.api.status(view.incident_id) == view
    assert receivers.faults.requests == []


async def test_a_changed_body_does_not_pass_its_signature(slack: Api) -> None:
    view = await current(slack)
    body, headers = signed({"payload": json.dumps(click(message(view), "escalation:acknowledge"))})
    changed = body.replace(ANA.encode(), EVE.encode())
    assert changed != body
    refused = await slack.http.post("/v1/slack/actions", content=changed, headers=headers)
    assert refused.status_code == 401
    assert await slack.ladder.api.status(view.incident_id) == view


async def test_someone_not_on_the_roster_is_told_how_to_get_on_it(slack: Api, receivers: Receivers) -> None:
    view = await current(slack)
    payload = click(
        message(view), "escalation:acknowledge", user=STRANGER, response_url=response_url(receivers)
    )
    answered = await post(slack, payload)
    assert answered.status_code == 200
    assert answered.json() == {"response_type": "ephemeral", "replace_original": False, "text": NOT_ON_ROSTER}
    assert responses(receivers) == [answered.json()], "only the clicker sees it"
    assert "contact.slack.mention" in NOT_ON_ROSTER and STRANGER not in answered.text
    assert await slack.ladder.api.status(view.incident_id) == view


async def test_refusals_show_the_rules_sentence_and_change_nothing(slack: Api) -> None:
    view = await current(slack)
    sent = message(view)
    not_yet = await post(slack, click(sent, "escalation:acknowledge", user=EVE))
    assert not_yet.status_code == 200 and not_yet.json()["response_type"] == "ephemeral"
    assert not_yet.json()["text"] == (
        "exec-eve may not acknowledge at tier frontline; ask one of: ana, ben, integration:payments-alerts"
    )
    assert await slack.ladder.api.status(view.incident_id) == view

    assert (await post(slack, click(sent, "escalation:acknowledge"))).json()["replace_original"] is True
    acknowledged = await slack.ladder.api.status(view.incident_id)
    twice = await post(slack, click(sent, "escalation:acknowledge"))
    assert twice.status_code == 200 and twice.json()["response_type"] == "ephemeral"
    assert twice.json()["text"].startswith("the incident is already acknowledged by ana at ")
    assert await slack.ladder.api.status(view.incident_id) == acknowledged


async def test_a_message_from_an_earlier_escalation_changes_nothing(slack: Api) -> None:
    view = await current(slack)
    earlier = message(view, triggered_at=datetime(2020, 1, 1, tzinfo=UTC))
    answered = await post(slack, click(earlier, "escalation:acknowledge"))
    assert answered.status_code == 200 and answered.json()["text"] == (
        f"this message belongs to an earlier escalation of {view.incident_id}, which has ended"
    )
    assert await slack.ladder.api.status(view.incident_id) == view


async def test_a_response_url_that_is_not_slacks_is_never_called(slack: Api, receivers: Receivers) -> None:
    view = await current(slack)
    # 0.0.0.0 reaches this machine's receivers but is not a loopback name: it must not be posted to.
    elsewhere = response_url(receivers, host="0.0.0.0")
    answered = await post(slack, click(message(view), "escalation:acknowledge", response_url=elsewhere))
    assert answered.status_code == 200 and answered.json()["replace_original"] is True
    assert (await slack.ladder.api.status(view.incident_id)).status == "acknowledged"
    assert receivers.faults.requests == []


def test_only_slacks_response_host_or_this_machine_is_called() -> None:
    allowed = ["https://hooks.slack.com/actions/T0/1/abc", "http://127.0.0.1:8787/x", "http://[::1]:1/",
               "https://localhost/x"]  # fmt: skip
    refused = ["http://hooks.slack.com/actions/T0/1/abc", "https://hooks.slack.com.evil.test/x",
               "https://hooks.slack.com@evil.test/x", "https://evil.test/#@hooks.slack.com",
               "https://hooks.slack.com:8443/x", "https://0.0.0.0/x", "file:///etc/passwd", "",
               "https://[::1"]  # fmt: skip
    assert [url for url in allowed if response_url_allowed(url)] == allowed
    assert [url for url in refused if response_url_allowed(url)] == []


async def test_link_buttons_are_acknowledged_and_ignored(slack: Api, receivers: Receivers) -> None:
    view = await current(slack)
    for action_id in ("escalation:resolve:ana", "escalation:web-ui"):
        payload = click(message(view), action_id, response_url=response_url(receivers))
        answered = await post(slack, payload)
        assert (answered.status_code, answered.json()) == (200, {})
    assert await slack.ladder.api.status(view.incident_id) == view
    assert receivers.faults.requests == []


async def test_malformed_payloads_are_400_naming_the_field(slack: Api) -> None:
    view = await current(slack)
    good = click(message(view), "escalation:acknowledge")
    nobody = {key: value for key, value in good.items() if key != "user"}
    bad_value = good | {"actions": [good["actions"][0] | {"value": "{}"}]}
    cases: list[tuple[dict[str, str], str]] = [
        ({"nothing": "here"}, "payload: missing"),
        ({"payload": "{not json"}, "payload: is not JSON"),
        ({"payload": json.dumps([1])}, "payload: Input should be a valid dictionary"),
        ({"payload": json.dumps(good | {"type": "view_submission"})}, "payload.type: Input should be "),
        ({"payload": json.dumps(nobody)}, "payload.user: Field required"),
        ({"payload": json.dumps(good | {"actions": []})}, "payload.actions: List should have at least 1"),
        ({"payload": json.dumps(bad_value)}, "payload.actions.0.value: is not a page's button value"),
    ]
    for form, sentence in cases:
        body, headers = signed(form)
        refused = await slack.http.post("/v1/slack/actions", content=body, headers=headers)
        assert refused.status_code == 400 and refused.json()["detail"].startswith(sentence), refused.text
    assert await slack.ladder.api.status(view.incident_id) == view


async def test_without_slack_app_in_channels_yaml_the_route_says_how_to_set_it_up(api: Api) -> None:
    body, headers = signed({"payload": "{}"})
    answered = await api.http.post("/v1/slack/actions", content=body, headers=headers)
    assert answered.status_code == 404
    assert "add slack_app: {signing_secret_env: SLACK_SIGNING_SECRET} to channels.yaml" in answered.text


async def unreachable() -> Escalations:
    raise TemporalConnectionError("no Temporal here")


def offline_app(tmp_path: Path, env: dict[str, str]) -> httpx.AsyncClient:
    """The app over the Slack configuration with no Temporal behind it."""
    app = create_app(Settings(config_dir=slack_config(tmp_path)), unreachable, env)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_without_the_signing_secret_in_the_environment_the_route_is_503(tmp_path: Path) -> None:
    async with offline_app(tmp_path, ENV) as http:
        body, headers = signed({"payload": "{}"})
        answered = await http.post("/v1/slack/actions", content=body, headers=headers)
    assert answered.status_code == 503 and "SLACK_SIGNING_SECRET is not set" in answered.text


async def test_temporal_out_of_reach_is_an_ephemeral_try_again(tmp_path: Path) -> None:
    step = PagedStep(incident_id="incident:payments:db-down", triggered_at=datetime(2026, 1, 1, tzinfo=UTC),
                    round=0, tier_name="frontline", phase="primary")  # fmt: skip
    button = {"type": "button", "action_id": "escalation:acknowledge", "value": step.model_dump_json(),
              "text": {"type": "plain_text", "text": "Ack"}}  # fmt: skip
    sent = {"text": "page", "blocks": [{"type": "actions", "block_id": "b", "elements": [button]}]}
    async with offline_app(tmp_path, SLACK_ENV) as http:
        body, headers = signed({"payload": json.dumps(click(sent, "escalation:acknowledge"))})
        answered = await http.post("/v1/slack/actions", content=body, headers=headers)
    assert answered.status_code == 200
    assert answered.json() == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": "Temporal is not reachable; try again shortly",
    }


anything = st.recursive(
    st.none() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
other_blocks = st.lists(st.dictionaries(st.text(max_size=8), anything, max_size=3), max_size=3)
elements = st.lists(
    anything | st.sampled_from([{"action_id": "escalation:acknowledge"}, {"action_id": "escalation:web-ui"}])
)
ACKNOWLEDGE = SlackAction(action_id="escalation:acknowledge", block_id="clicked")


@given(before=other_blocks, clicked=st.dictionaries(st.sampled_from(["elements", "x"]), elements))
def test_an_update_keeps_every_block_but_the_clicked_ones_acting_buttons(
    before: list[dict[str, Any]], clicked: dict[str, Any]
) -> None:
    before = [block for block in before if "block_id" not in block]
    message = SlackMessage(
        text="page", blocks=[*before, clicked | {"type": "actions", "block_id": "clicked"}]
    )
    blocks = updated(message, ACKNOWLEDGE, "done")["blocks"]
    assert blocks[: len(before)] == before
    assert blocks[len(before)] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "done"}]}
    rest = [element for block in blocks[len(before) + 1 :] for element in block["elements"]]
    assert {"action_id": "escalation:acknowledge"} not in rest
