"""``POST /v1/slack/actions``: the Slack app's interactivity endpoint, answering a page's buttons.

Slack signs every request with the app's signing secret; one unsigned, forged or more than five
minutes old is refused (401) and changes nothing. The Slack user who clicked is mapped to the
roster by ``contact.slack.mention`` and acts as that responder, through the same validated update
as every other front end, bound to the escalation and step the message was sent for. A verified
request is always answered 200 (Slack shows the user an error otherwise): what they need to know
comes back as an ephemeral message, and a success replaces the message's action buttons with a
line saying who did what. Slack ignores the response body of a button click and reads updates
from the payload's ``response_url``, so the answer is posted there (to Slack's own host or this
machine only) and returned as the body too. Slack also shows the user an error when the 200 takes
over 3 seconds, so a click the worker has not applied within ``ANSWER_WITHIN`` seconds is answered
200 at once, and its update follows through the ``response_url`` when the worker has applied it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import structlog
from fastapi import BackgroundTasks, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.signature import SignatureVerifier

from escalation.actions import BY_NAME
from escalation.channel_settings import is_loopback
from escalation.config import CHANNELS_FILE
from escalation.models import Roster
from escalation.replies import PagedStep
from escalation.state import ActionResult, Via
from escalation.text import mrkdwn
from starter.api import EscalationError, RefusedError, UnknownIncidentError
from starter.web.door import Door, DoorDep, HTTPProblem, body_bytes, detail, parse_form
from starter.web.page_answers import earlier_escalation, moved_on

MAX_AGE_SECONDS = 5 * 60
"""Requests signed longer ago than this are refused as replays (Slack's own recommendation)."""
SLACK_RESPONSE_HOST = "hooks.slack.com"
RESPONSE_TIMEOUT_SECONDS = 5.0
ANSWER_WITHIN = 2.0
"""Seconds a click waits for the worker before its 200; Slack's own limit is 3 seconds."""
BUTTONS: dict[str, tuple[str, dict[str, str]]] = {
    "escalation:acknowledge": ("acknowledge", {}),
    "escalation:escalate": ("escalate", {"reason": "escalated from Slack"}),
}
"""A page's acting buttons (action_id -> action and the inputs a click cannot type); any other
button (a resolve link, the Web UI) only opens its URL, and its click is acknowledged and ignored."""
NOT_ON_ROSTER = (
    "your Slack account is not on the roster, so this button cannot act for you; ask whoever keeps "
    "roster.yaml to add your Slack member id (your profile, ⋮, Copy member ID) as contact.slack.mention"
)

log = structlog.get_logger()


class SlackPayload(BaseModel):
    """Slack's payloads carry many more fields than these; the rest are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class SlackUser(SlackPayload):
    id: str


class SlackAction(SlackPayload):
    action_id: str
    block_id: str = ""
    value: str = ""


class SlackMessage(SlackPayload):
    text: str = ""
    blocks: list[dict[str, Any]] = []


class BlockActions(SlackPayload):
    """A click on a message's button (``type: block_actions``)."""

    type: Literal["block_actions"]
    user: SlackUser
    actions: list[SlackAction] = Field(min_length=1)
    message: SlackMessage | None = None
    response_url: str = ""


class Ephemeral(Exception):
    """The click did nothing; the sentence is shown to the person who clicked, and only to them."""


def _verifier(door: Door) -> SignatureVerifier:
    """The app's signature check; 404 without ``slack_app`` in channels.yaml, 503 without its secret."""
    app = door.channels.slack_app
    if app is None:
        raise detail(
            404,
            f"Slack buttons are not set up here; add slack_app: {{signing_secret_env: SLACK_SIGNING_SECRET}} "
            f"to {CHANNELS_FILE} (see docs/channels.md)",
        )
    secret = door.env.get(app.signing_secret_env, "")
    if not secret.strip():
        raise detail(
            503,
            f"slack_app.signing_secret_env: environment variable {app.signing_secret_env} is not set where "
            "the API runs; export the Slack app's Signing Secret there",
        )
    return SignatureVerifier(secret)


def verify(verifier: SignatureVerifier, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """401 unless Slack signed exactly this body within the last five minutes."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise detail(
            401, "X-Slack-Request-Timestamp: missing or not a number; only Slack's requests are taken"
        )
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        raise detail(
            401, "X-Slack-Request-Timestamp: more than 5 minutes off (a replayed request); nothing was done"
        )
    signature = headers.get("X-Slack-Signature")
    try:
        valid = verifier.is_valid(body, timestamp, signature)
    except UnicodeDecodeError:
        valid = False
    if not valid:
        raise detail(
            401,
            "X-Slack-Signature: does not match the body; check that slack_app's signing secret is the "
            "Slack app's Signing Secret",
        )


def parse_payload(body: bytes) -> BlockActions:
    """The click in ``payload=<JSON>``; 400 naming the field for anything else."""
    form = parse_form(body)
    if "payload" not in form:
        raise detail(400, "payload: missing; Slack sends an interaction as the form field payload=<JSON>")
    try:
        data = json.loads(form["payload"])
    except (ValueError, RecursionError):
        raise detail(400, "payload: is not JSON; Slack sends an interaction as payload=<JSON>") from None
    try:
        return BlockActions.model_validate(data)
    except ValidationError as error:
        problems = [
            ".".join(["payload", *(str(part) for part in item["loc"])]) + f": {item['msg']}"
            for item in error.errors(include_url=False)
        ]
        raise detail(400, "; ".join(problems)) from None


def _step(action: SlackAction) -> PagedStep:
    try:
        return PagedStep.model_validate_json(action.value)
    except ValidationError:
        raise detail(
            400,
            "payload.actions.0.value: is not a page's button value; keep page.step_value in slack.json.j2",
        ) from None


def ephemeral(sentence: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": sentence}


def updated(message: SlackMessage | None, clicked: SlackAction, line: str) -> dict[str, Any]:
    """The message as it was, with the clicked block's acting buttons replaced by ``line``; its other
    buttons (resolve links, the Web UI) stay, as they still apply."""
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}
    blocks: list[dict[str, Any]] = []
    for block in message.blocks if message else []:
        if block.get("block_id") != clicked.block_id or block.get("type") != "actions":
            blocks.append(block)
            continue
        blocks.append(context)
        elements = block.get("elements")
        if rest := [e for e in elements if not _acts(e)] if isinstance(elements, list) else []:
            blocks.append(block | {"elements": rest})
    if not any(block is context for block in blocks):
        blocks.append(context)
    return {"replace_original": True, "text": (message.text if message else "") or line, "blocks": blocks}


def _acts(element: object) -> bool:
    return isinstance(element, dict) and element.get("action_id") in BUTTONS


def done_line(action: str, result: ActionResult, who: str, roster: Roster, now: datetime) -> str:
    """``acknowledged by Ana Frontline (frontline) at 03:12 UTC``: what the click did, for everyone."""
    name = mrkdwn(roster.responders[who].name)
    at = f"{now.astimezone(UTC):%H:%M} UTC"
    if action == "escalate":
        return f"escalated to tier {mrkdwn(result.tier_name)} by {name} at {at}"
    return f"acknowledged by {name} ({mrkdwn(result.tier_name)}) at {at}"


async def _act(door: Door, step: PagedStep, action: str, fields: dict[str, object]) -> ActionResult:
    """Apply the action if the message's escalation and step still call for it; Ephemeral otherwise."""
    try:
        escalations = await door.escalations()
        view = await escalations.status(step.incident_id)
    except HTTPProblem as problem:  # Temporal out of reach
        raise Ephemeral(str(problem.body["detail"])) from None
    except UnknownIncidentError:
        raise Ephemeral(f"{step.incident_id} is not known here any more") from None
    except EscalationError as error:
        raise Ephemeral(str(error)) from None
    if reason := earlier_escalation(step, view, "this message") or moved_on(step, action, view):
        raise Ephemeral(reason)
    try:
        return await escalations.act(step.incident_id, BY_NAME[action], fields)
    except RefusedError as error:
        raise Ephemeral(error.reason) from None
    except EscalationError as error:  # unanswered (kept, applies later) or invalid
        raise Ephemeral(str(error)) from None


async def answer(door: Door, click: BlockActions) -> dict[str, Any]:
    """What to show for this click: an update of the message, an ephemeral sentence, or nothing."""
    clicked = click.actions[0]
    if clicked.action_id not in BUTTONS:
        return {}
    action, inputs = BUTTONS[clicked.action_id]
    step = _step(clicked)
    roster = door.config.roster
    who = roster.with_slack_member(click.user.id)
    if who is None:
        return ephemeral(NOT_ON_ROSTER)
    try:
        result = await _act(door, step, action, {**inputs, "responder": who, "via": Via.SLACK})
    except Ephemeral as refusal:
        return ephemeral(str(refusal))
    return updated(click.message, clicked, done_line(action, result, who, roster, datetime.now(UTC)))


def response_url_allowed(url: str) -> bool:
    """Only Slack's own response host (https, default port) or this machine: never anywhere a
    forged payload could aim the API at."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return False
    if parts.scheme == "https" and host == SLACK_RESPONSE_HOST and port is None:
        return True
    return parts.scheme in ("http", "https") and is_loopback(host)


async def respond(url: str, message: dict[str, Any]) -> None:
    """Post the answer to the click's ``response_url``; a failure is logged (never the URL, a
    capability) and changes nothing else."""
    try:
        async with httpx.AsyncClient(timeout=RESPONSE_TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = await client.post(url, json=message)
    except httpx.HTTPError as error:
        log.warning("slack response_url unreachable", error=type(error).__name__)
        return
    if response.is_error:
        log.warning("slack response_url refused the answer", status=response.status_code)


SLACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "verified: the message update or ephemeral sentence also posted to the payload's "
        "response_url ({} for a link button, or when the worker has not applied the click within 2 s: "
        "the update then follows through the response_url alone)"
    },
    400: {"description": "a malformed payload; the sentence names the field"},
    401: {"description": "not signed by the Slack app, or signed more than 5 minutes ago"},
    404: {"description": "slack_app is not set up in channels.yaml"},
    413: {"description": "the body is over 512 KB"},
    503: {"description": "channels.yaml has problems, or the signing secret is not in the environment"},
}


def slack_routes(app: FastAPI) -> None:
    @app.post(
        "/v1/slack/actions",
        tags=["slack"],
        responses=SLACK_RESPONSES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {"payload": {"type": "string"}},
                            "required": ["payload"],
                        }
                    }
                },
            }
        },
    )
    async def slack_actions(request: Request, door: DoorDep, background: BackgroundTasks) -> dict[str, Any]:
        """The Slack app's Interactivity Request URL: a page's Acknowledge and Escalate buttons act
        as the clicking user's responder (mapped by contact.slack.mention)."""
        verifier = _verifier(door)
        body = await body_bytes(request)
        verify(verifier, request.headers, body, datetime.now(UTC).timestamp())
        click = parse_payload(body)
        answering = asyncio.ensure_future(answer(door, click))
        try:
            message = await asyncio.wait_for(asyncio.shield(answering), ANSWER_WITHIN)
        except TimeoutError:  # the worker is slow: answer Slack now, update the message later
            background.add_task(_respond_when_answered, answering, click.response_url)
            return {}
        background.add_task(_respond_if_allowed, click.response_url, message)
        return message


async def _respond_when_answered(answering: asyncio.Future[dict[str, Any]], url: str) -> None:
    await _respond_if_allowed(url, await answering)


async def _respond_if_allowed(url: str, message: dict[str, Any]) -> None:
    if not (message and url):
        return
    if response_url_allowed(url):
        await respond(url, message)
    else:
        log.warning("slack response_url is not Slack's; not called")
