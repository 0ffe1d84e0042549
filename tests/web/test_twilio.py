"""Answering a page from the phone: Twilio's SMS and voice webhooks, signed as Twilio signs them.

The worker pages a Twilio-shaped server on loopback (tests/receivers.py); replies and key
presses are POSTed to the API with ``X-Twilio-Signature`` computed by the twilio library.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from activities.action_links import VOICE_PATH, ActionLinks, read_link
from escalation.config import load_config
from escalation.replies import reply_codes_id
from escalation.settings import SECRET_ENV, Settings
from escalation.state import EventKind, StatusView
from starter.api import Escalations
from starter.web.app import create_app
from tests.receivers import TWILIO_ENV, TWILIO_SID, TWILIO_TOKEN, Receivers
from tests.support import EXAMPLE_CONFIG, incident, readable_history
from tests.web.conftest import API_SECRET
from tests.web.test_links import link
from tests.workflow.conftest import Ladder, running_ladder

PUBLIC = "https://escalations.test"
ANA, SOFIA, STRANGER = "+15550100101", "+15550100201", "+15550199999"
POLICY = """
name: phone-test
version: 1
tiers:
  - {name: frontline, primary: [ana], ack_timeout: 10m, channels: [sms, voice]}
  - {name: supervisor, primary: [sofia], ack_timeout: 10m, channels: [sms, voice]}
"""
TEXT = "/v1/twilio/sms"


def signed(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


def said(response: httpx.Response, tag: str = "Message") -> str:
    """The text of the TwiML answer (a Message for SMS, a Say for voice); it must parse as XML."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return "".join(ElementTree.fromstring(response.text).itertext())


@dataclass
class Phones:
    http: httpx.AsyncClient
    ladder: Ladder
    receivers: Receivers

    async def open(self, name: str, key: str | None = None) -> StatusView:
        """An escalation titled ``Disk full on <name>`` paging ana, once her SMS and call have gone out."""
        opened = await self.ladder.api.trigger(
            incident(key=key or name, title=f"Disk full on {name}"), policy="phone-test"
        )
        handle = self.ladder.client.get_workflow_handle(opened.incident_id)
        self.ladder.started.append(handle)
        paged = {"sms", "voice"}
        return await self.ladder.until(
            handle, lambda v: paged <= {e.channel for e in v.timeline if e.kind is EventKind.NOTIFIED}
        )

    def sms_for(self, view: StatusView, phone: str = ANA) -> str:
        """The latest SMS to ``phone`` about ``view``'s incident."""
        headline = f"{view.incident.title}. Ack by"
        return [
            m["Body"] for m in self.receivers.twilio.messages if m["To"] == phone and headline in m["Body"]
        ][-1]

    def call_for(self, view: StatusView) -> str:
        """The URL the page's call to ana sends a key to (its Gather's action)."""
        for call in self.receivers.twilio.calls:
            gather = ElementTree.fromstring(call["Twiml"]).find("Gather")
            url = gather.get("action", "") if gather is not None else ""
            if read_link(url.removeprefix(PUBLIC + VOICE_PATH), API_SECRET).incident_id == view.incident_id:
                return url
        raise AssertionError(f"no call for {view.incident_id}")

    async def text(self, body: str, sender: str = ANA, **headers: str) -> httpx.Response:
        params = {"MessageSid": "SM" + "0" * 32, "AccountSid": TWILIO_SID, "From": sender,
                  "To": "+15550009999", "Body": body, "NumMedia": "0"}  # fmt: skip
        return await self.http.post(TEXT, data=params, headers=headers or signed(PUBLIC + TEXT, params))

    async def press(self, answer_url: str, digits: str, **headers: str) -> httpx.Response:
        params = {"CallSid": "CA" + "0" * 32, "AccountSid": TWILIO_SID, "From": "+15550009999", "To": ANA,
                  "Digits": digits, "CallStatus": "in-progress"}  # fmt: skip
        path = answer_url.removeprefix(PUBLIC)
        return await self.http.post(path, data=params, headers=headers or signed(answer_url, params))

    async def status(self, view: StatusView) -> StatusView:
        return await self.ladder.api.status(view.incident_id)


@pytest.fixture
async def phones(
    time_skipping_env: WorkflowEnvironment, receivers: Receivers, tmp_path: Path
) -> AsyncIterator[Phones]:
    directory = receivers.config_dir(tmp_path, policy=POLICY)
    config = load_config(directory)
    links = ActionLinks(API_SECRET, PUBLIC, timedelta(hours=24))
    worker_env = {**os.environ, **TWILIO_ENV}
    async with running_ladder(time_skipping_env, config, tmp_path, worker_env, links) as ladder:

        async def bound() -> Escalations:
            return ladder.api

        settings = Settings(config_dir=directory, task_queue=ladder.task_queue, public_url=PUBLIC)
        app = create_app(settings, bound, {SECRET_ENV: API_SECRET, **TWILIO_ENV})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            yield Phones(http, ladder, receivers)
        for responder in ("ana", "sofia"):  # the books the pages started end with the escalations
            book = ladder.client.get_workflow_handle(reply_codes_id(responder))
            with contextlib.suppress(RPCError):
                await book.describe()
                ladder.started.append(book)


async def test_sms_pages_end_with_reply_codes_that_acknowledge_and_escalate(phones: Phones) -> None:
    alpha = await phones.open("alpha")
    bravo = await phones.open("bravo")
    assert phones.sms_for(alpha).endswith("\nReply 1a to acknowledge, 1e to escalate")
    assert phones.sms_for(bravo).endswith("\nReply 2a to acknowledge, 2e to escalate")

    acknowledged = said(await phones.text(" 2 A "))
    assert acknowledged == f"{bravo.incident_id} acknowledged by ana (tier frontline)"
    after = await phones.status(bravo)
    assert (after.status, after.acknowledged_by, after.timeline[-1].via) == ("acknowledged", "ana", "sms")

    escalated = said(await phones.text("1e"))
    assert escalated == f"{alpha.incident_id} handed to tier supervisor; paging sofia"
    moved = await phones.status(alpha)
    [event] = [e for e in moved.timeline if e.kind is EventKind.ESCALATED]
    assert (event.actor, event.via, event.note) == ("ana", "sms", "escalated by SMS reply")

    again = said(await phones.text("1e"))
    assert again == f"{alpha.incident_id} has moved to tier supervisor (primary) since this page; " + (
        "nothing was escalated"
    )
    assert (await phones.status(alpha)).timeline[: len(moved.timeline)] == moved.timeline
    assert not [e for e in (await phones.status(alpha)).timeline[len(moved.timeline) :] if e.actor == "ana"]


async def test_a_closed_incidents_code_is_given_to_the_next_incident(phones: Phones) -> None:
    alpha, bravo = await phones.open("alpha"), await phones.open("bravo")
    await phones.ladder.api.act(alpha.incident_id, "resolve", {"responder": "ana", "summary": "restarted"})
    charlie = await phones.open("charlie")
    assert phones.sms_for(charlie).endswith("Reply 1a to acknowledge, 1e to escalate")
    assert phones.sms_for(bravo).endswith("Reply 2a to acknowledge, 2e to escalate")

    assert said(await phones.text("1a")) == f"{charlie.incident_id} acknowledged by ana (tier frontline)"
    assert (await phones.status(alpha)).status == "resolved"
    history = readable_history(
        await phones.ladder.client.get_workflow_handle(reply_codes_id("ana")).fetch_history()
    )
    assert charlie.incident_id in history and ANA not in history, "responder ids, never phone numbers"


async def test_unknown_numbers_codes_and_replies_are_explained_and_change_nothing(phones: Phones) -> None:
    alpha = await phones.open("alpha")
    answers = [said(await phones.text("1a", sender=STRANGER)), said(await phones.text("7a")),
               said(await phones.text("ack")), said(await phones.text("1a", sender=SOFIA))]  # fmt: skip
    assert answers[0].startswith("Nothing was done: this number is not in the escalation roster.")
    assert answers[1].startswith("Nothing was done: no open incident of yours has code 7.")
    assert answers[2] == "Nothing was done. Reply with the code from the page and a letter: " + (
        "1a to acknowledge, 1e to escalate."
    )
    assert answers[3].startswith("Nothing was done: no open incident of yours has code 1."), (
        "codes are per person"
    )
    assert not any(number in answer for answer in answers for number in (STRANGER, ANA, SOFIA))
    assert await phones.status(alpha) == alpha


async def test_a_refusal_is_the_rules_own_sentence(phones: Phones) -> None:
    alpha = await phones.open("alpha")
    await phones.ladder.api.act(alpha.incident_id, "acknowledge", {"responder": "ana"})
    held = await phones.status(alpha)
    answer = said(await phones.text("1a"))
    assert answer.startswith("Not done: the incident is already acknowledged by ana at ")
    assert await phones.status(alpha) == held


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, "other token", "other url"],
    ids=["missing", "garbage", "other-token", "other-url"],
)
async def test_a_request_not_signed_by_twilio_is_403_and_changes_nothing(
    phones: Phones, headers: dict[str, str] | str
) -> None:
    alpha = await phones.open("alpha")
    params = {"From": ANA, "To": "+15550009999", "Body": "1a"}
    if headers == "other token":
        headers = signed(PUBLIC + TEXT, params, token="another-auth-token")
    elif headers == "other url":
        headers = signed("https://elsewhere.test" + TEXT, params)
    response = await phones.http.post(TEXT, data=params, headers=headers)
    assert response.status_code == 403 and "X-Twilio-Signature" in response.json()["detail"]
    call = await phones.press(phones.call_for(alpha), "4", **{"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert call.status_code == 403
    assert await phones.status(alpha) == alpha


async def test_a_key_pressed_during_the_call_acknowledges_or_escalates(phones: Phones) -> None:
    alpha, bravo = await phones.open("alpha"), await phones.open("bravo")

    other = await phones.press(phones.call_for(alpha), "7")
    gather = ElementTree.fromstring(other.text).find("Gather")
    assert gather is not None and gather.get("action") == phones.call_for(alpha)
    assert said(other) == "Press 4 to acknowledge, or 5 to escalate."
    assert await phones.status(alpha) == alpha

    assert said(await phones.press(phones.call_for(alpha), "4")) == (
        f"{alpha.incident_id} acknowledged by ana (tier frontline)"
    )
    acknowledged = await phones.status(alpha)
    assert (acknowledged.acknowledged_by, acknowledged.timeline[-1].via) == ("ana", "voice")

    assert said(await phones.press(phones.call_for(bravo), "5")) == (
        f"{bravo.incident_id} handed to tier supervisor; paging sofia"
    )
    moved = await phones.status(bravo)
    [event] = [e for e in moved.timeline if e.kind is EventKind.ESCALATED]
    assert (event.via, event.note) == ("voice", "escalated from the page's phone call")
    again = said(await phones.press(phones.call_for(bravo), "5"))
    assert "since this page; nothing was escalated" in again
    assert len([e for e in (await phones.status(bravo)).timeline if e.kind is EventKind.ESCALATED]) == 1


async def test_call_tokens_and_link_tokens_are_not_interchangeable(phones: Phones) -> None:
    alpha = await phones.open("alpha")
    call_token = phones.call_for(alpha).removeprefix(PUBLIC + VOICE_PATH)
    for response in (await phones.http.get(f"/a/{call_token}"), await phones.http.post(f"/a/{call_token}")):
        assert response.status_code == 403
    link_answer = PUBLIC + VOICE_PATH + link(alpha, "acknowledge").removeprefix("/a/")
    assert (
        said(await phones.press(link_answer, "4"))
        == "This call cannot be answered with keys; nothing was done."
    )
    assert await phones.status(alpha) == alpha


async def test_twiml_answers_parse_for_hostile_incident_text(phones: Phones) -> None:
    hostile = await phones.open("angle <brackets> & </Message>", key="<b>&amp;</Say>]]>")
    assert hostile.incident_id == "incident:payments:<b>&amp;</Say>]]>"
    call = ElementTree.fromstring(phones.receivers.twilio.calls[-1]["Twiml"])
    assert "Disk full on angle <brackets> & </Message>" in "".join(call.itertext())
    other = await phones.press(phones.call_for(hostile), "9")
    assert said(other) == "Press 4 to acknowledge, or 5 to escalate."
    assert said(await phones.text("1a")) == f"{hostile.incident_id} acknowledged by ana (tier frontline)"
    assert said(await phones.press(phones.call_for(hostile), "4")).startswith(
        "Not done: the incident is already acknowledged by ana at "
    )


TWILIO_YAML = "twilio:\n  base_url: http://127.0.0.1:9\n  from_number: '+15550009999'\n"


@pytest.mark.parametrize(
    ("twilio", "env", "public_url", "status", "sentence"),
    [
        (False, TWILIO_ENV, PUBLIC, 404, "add a twilio: section to channels.yaml"),
        (True, {}, PUBLIC, 503, "TWILIO_AUTH_TOKEN is not set where the API runs"),
        (True, TWILIO_ENV, None, 503, "ESCALATION_PUBLIC_URL is not set"),
    ],
    ids=["no-twilio", "no-auth-token", "no-public-url"],
)
async def test_the_routes_say_what_setting_is_missing(
    tmp_path: Path, twilio: bool, env: dict[str, str], public_url: str | None, status: int, sentence: str
) -> None:
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE_CONFIG, directory)
    if twilio:
        channels = directory / "channels.yaml"
        channels.write_text(channels.read_text() + TWILIO_YAML)

    async def unreachable() -> Escalations:
        raise AssertionError("nothing is looked up before the request is checked")

    app = create_app(Settings(config_dir=directory, public_url=public_url), unreachable, env)
    params = {"From": ANA, "Body": "1a", "Digits": "4"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        for path in (TEXT, f"{VOICE_PATH}token"):
            response = await http.post(path, data=params, headers=signed(PUBLIC + path, params))
            assert (response.status_code, sentence in response.json()["detail"]) == (status, True)
