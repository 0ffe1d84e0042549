"""Twilio's webhooks: a reply to an SMS page (``1a``, ``1e``) and a key pressed during a page's call.

Twilio signs every request (``X-Twilio-Signature``: the URL it called and the form, with the
account's auth token); one without a good signature is answered 403 and changes nothing. The
URL checked is ``ESCALATION_PUBLIC_URL`` plus the path, so that must be the address Twilio
calls. A signed request is answered with TwiML that the person reads or hears: the outcome,
the rule's refusal, or what to send instead. Only Twilio would show them a 4xx's reason, so
an unknown number, an unknown code or a reply that does not parse is answered this way too,
and changes nothing. Actions go through the same validated updates as every other front end,
as the responder the phone number (SMS) or the call's signed token (voice) names.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from activities.action_links import VOICE_ACTION, VOICE_PATH, LinkError, read_link
from activities.channels.twilio import keypad
from escalation.actions import BY_NAME
from escalation.replies import KEYPAD_PROMPT, REPLY_HELP, VOICE_KEYS, PagedStep, parse_reply
from escalation.state import Via
from escalation.text import xml_chars
from starter.api import EscalationError, RefusedError
from starter.web.door import Door, DoorDep, HTTPProblem, detail, form_body
from starter.web.page_answers import earlier_escalation, moved_on

MAX_FORM_BYTES = 16 * 1024
SIGNATURE_HEADER = "X-Twilio-Signature"
ESCALATE_REASONS = {Via.SMS: "escalated by SMS reply", Via.VOICE: "escalated from the page's phone call"}
UNKNOWN_NUMBER = (
    "Nothing was done: this number is not in the escalation roster. Ask an administrator to add it "
    "as your contact.phone, or answer with the page's link."
)
RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "TwiML (application/xml): the outcome, the refusal, or what to send instead"},
    400: {"description": "more than 100 form fields"},
    403: {"description": f"{SIGNATURE_HEADER} is missing or is not Twilio's signature of this request"},
    404: {"description": "Twilio is not set up in channels.yaml"},
    413: {"description": "the body is over 16 KB"},
    503: {"description": "channels.yaml has problems, or the auth token or public URL is not set"},
}


def _twiml(response: MessagingResponse | VoiceResponse) -> Response:
    return Response(str(response), media_type="application/xml")


def _text(sentence: str) -> Response:
    reply = MessagingResponse()
    reply.message(xml_chars(sentence))
    return _twiml(reply)


def _spoken(sentence: str) -> Response:
    return _twiml(VoiceResponse().say(xml_chars(sentence)))


def _called_url(door: Door, request: Request) -> str:
    """The URL Twilio called, as it signed it: the public URL, this path and any query."""
    public = str(door.settings.public_url).rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return public + request.url.path + query


async def _signed_form(door: Door, request: Request) -> dict[str, str]:
    """The form Twilio posted, once its signature checks out; 403 otherwise."""
    twilio = door.channels.twilio
    if twilio is None:
        raise detail(404, "Twilio is not set up here; add a twilio: section to channels.yaml")
    auth_token = door.env.get(twilio.auth_token_env, "")
    if not auth_token:
        raise detail(
            503,
            f"{twilio.auth_token_env} is not set where the API runs; export it to check Twilio's signatures",
        )
    if door.settings.public_url is None:
        raise detail(503, "ESCALATION_PUBLIC_URL is not set; set it to the address Twilio calls")
    form = await form_body(request, MAX_FORM_BYTES)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not (signature and RequestValidator(auth_token).validate(_called_url(door, request), form, signature)):
        raise detail(
            403,
            f"{SIGNATURE_HEADER}: missing, or not Twilio's signature of this request; nothing was done. "
            "ESCALATION_PUBLIC_URL must be the address Twilio calls, and twilio.auth_token_env must "
            "name the variable holding the account's auth token",
        )
    return form


def _responder_by_phone(door: Door, number: str) -> str | None:
    roster = door.config.roster.responders
    return next((rid for rid, person in roster.items() if number and person.contact.phone == number), None)


async def _answer(door: Door, responder: str, paged: PagedStep, action_name: str, via: Via) -> str:
    """Act on the escalation the page was for, as ``responder``; the sentence that tells them how
    it went. An answer to a closed incident, or an escalate from a step the ladder has left, does
    nothing and says so."""
    action = BY_NAME[action_name]
    fields: dict[str, object] = {"responder": responder, "via": via}
    if action.name == "escalate":
        fields["reason"] = ESCALATE_REASONS[via]
    try:
        escalations = await door.escalations()
        view = await escalations.status(paged.incident_id)
        if reason := earlier_escalation(paged, view, "that page") or moved_on(paged, action.name, view):
            return reason
        result = await escalations.act(view.incident_id, action, fields)
    except RefusedError as error:
        return f"Not done: {error.reason}"
    except EscalationError as error:
        return f"Not done: {error}"
    except HTTPProblem as problem:
        return f"Not done: {problem.body.get('detail', '')}"
    return action.outcome(result, action.request.model_validate(fields))


def twilio_routes(app: FastAPI) -> None:
    @app.post("/v1/twilio/sms", response_class=Response, tags=["twilio"], responses=RESPONSES)
    async def sms_reply(request: Request, door: DoorDep) -> Response:
        """Twilio's Messaging webhook: a reply to an SMS page, ``1a`` to acknowledge the incident
        with code 1 or ``1e`` to escalate it. The code is looked up in the sender's own codes."""
        form = await _signed_form(door, request)
        responder = _responder_by_phone(door, form.get("From", ""))
        if responder is None:
            return _text(UNKNOWN_NUMBER)
        parsed = parse_reply(form.get("Body", ""))
        if parsed is None:
            return _text(f"Nothing was done. {REPLY_HELP}")
        code, action = parsed
        try:
            booked = await (await door.escalations()).reply_code(responder, code)
        except HTTPProblem as problem:
            return _text(f"Not done: {problem.body.get('detail', '')}")
        if booked is None:
            return _text(
                f"Nothing was done: no open incident of yours has code {code}. Reply with the code "
                "from a recent page, or answer with its link."
            )
        return _text(await _answer(door, responder, booked, action, Via.SMS))

    @app.post(VOICE_PATH + "{token}", response_class=Response, tags=["twilio"], responses=RESPONSES)
    async def call_keys(token: str, request: Request, door: DoorDep) -> Response:
        """Where a page's call sends the key pressed: 4 acknowledges, 5 escalates, any other key
        hears the choices again. The signed token in the path names the incident, the escalation,
        the step and the responder."""
        form = await _signed_form(door, request)
        if not door.secret:
            return _spoken("Answering by phone is not enabled here; nothing was done.")
        try:
            claims = read_link(token, door.secret)
        except LinkError as error:
            return _spoken(f"{error}. Nothing was done.")
        if claims.action != VOICE_ACTION:
            return _spoken("This call cannot be answered with keys; nothing was done.")
        action = VOICE_KEYS.get(form.get("Digits", ""))
        if action is None:
            return _twiml(VoiceResponse().append(keypad(KEYPAD_PROMPT, _called_url(door, request))))
        return _spoken(await _answer(door, claims.responder, claims, action, Via.VOICE))
