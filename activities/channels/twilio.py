"""SMS and voice calls through Twilio's REST API; ``base_url`` points elsewhere for tests or proxies.

Twilio has no idempotency key on its API: the key travels in an ``Idempotency-Key`` header for
proxies that honour it, and the notifier's heartbeat keeps a retried page from sending twice.
A call's TwiML is written by the ``twilio`` library, which escapes the incident's text; where
the page has an answer URL the call listens for one key (``escalation.replies.VOICE_KEYS``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from twilio.twiml.voice_response import Gather, VoiceResponse

from activities.channels.base import Message, post
from activities.pages import PageTemplates
from escalation.channel_settings import TwilioSettings
from escalation.models import Channel, Roster
from escalation.replies import KEYPAD_PROMPT
from escalation.text import header_value, xml_chars


def keypad(prompt: str, answer_url: str) -> Gather:
    """Say ``prompt`` and listen for one key, which Twilio POSTs to ``answer_url`` as ``Digits``."""
    gather = Gather(num_digits=1, action=answer_url, method="POST")
    gather.say(xml_chars(prompt))
    return gather


def call_twiml(spoken: str, answer_url: str | None) -> str:
    """The page read out twice; with an answer URL each reading offers the keys, and a key
    pressed during it interrupts the reading."""
    response = VoiceResponse()
    if answer_url is None:
        response.say(xml_chars(spoken))
        response.pause(length=1)
        response.say(xml_chars(spoken))
    else:
        for _ in range(2):
            response.append(keypad(f"{spoken} {KEYPAD_PROMPT}", answer_url))
    return response.to_xml(xml_declaration=False)


class TwilioSender:
    """``Channel.SMS`` sends a text message; ``Channel.VOICE`` places a call that reads the page out."""

    def __init__(
        self,
        channel: Channel,
        settings: TwilioSettings,
        env: Mapping[str, str],
        roster: Roster,
        templates: PageTemplates,
    ) -> None:
        self._channel = channel
        self._settings = settings
        self._account = env[settings.account_sid_env]
        credentials = f"{self._account}:{env[settings.auth_token_env]}".encode()
        self._authorization = "Basic " + base64.b64encode(credentials).decode()
        self._roster = roster
        self._templates = templates

    def form(self, message: Message) -> dict[str, str]:
        phone = str(self._roster.responders[message.send.destination].contact.phone)
        form = {"To": phone, "From": self._settings.from_number}
        if self._channel is Channel.SMS:
            return form | {"Body": self._templates.render("sms", message.page)}
        spoken = self._templates.render("voice", message.page)
        return form | {"Twiml": call_twiml(spoken, message.page.recipients[0].call_answer_url)}

    async def send(self, message: Message) -> None:
        resource = "Messages" if self._channel is Channel.SMS else "Calls"
        base = str(self._settings.base_url).rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{self._account}/{resource}.json"
        headers = {"Idempotency-Key": header_value(message.key), "Authorization": self._authorization}
        await post(url, headers=headers, data=self.form(message))
