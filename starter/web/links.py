"""The pages behind a page's signed action links (``/a/<token>``): GET shows, POST acts.

``GET`` never changes anything: mail scanners and chat unfurlers fetch every link they see.
It shows the incident as it stands and one button; the ``POST`` that button sends acts as
the token's responder through the same validated update as every other front end, and a
refusal is shown as the rule's own sentence. A link for an escalate step the ladder has
moved on from reports where the incident is now instead of acting a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from activities.action_links import LINK_ACTIONS, LinkClaims, LinkError, read_link
from escalation.actions import BY_NAME, Action
from escalation.reports import headline
from escalation.state import StatusView, Via
from starter.api import EscalationError, RefusedError, UnansweredError, UnknownIncidentError
from starter.web.door import Door, DoorDep, HTTPProblem, form_body
from starter.web.page_answers import earlier_escalation, moved_on

MAX_FORM_BYTES = 16 * 1024
BUTTONS = {"acknowledge": "Acknowledge", "resolve": "Resolve", "escalate": "Escalate"}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
}

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


class LinkRefused(Exception):
    """The link cannot be used: answered with ``status`` and the sentence, on an HTML page."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status, self.sentence = status, sentence


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    hint: str
    required: bool


@dataclass(frozen=True)
class Form:
    action: str
    button: str
    responder: str
    fields: list[FormField]


def _form(action: Action, responder: str) -> Form:
    """The button, and the action's own inputs (resolve asks for a summary, escalate for a reason)."""
    fields = [
        FormField(name, info.title or name, info.description or "", info.is_required())
        for name, info in action.inputs.items()
    ]
    return Form(action.name, BUTTONS[action.name], responder, fields)


def _page(
    status: int,
    title: str,
    *,
    message: str = "",
    refused: bool = False,
    view: StatusView | None = None,
    form: Form | None = None,
) -> HTMLResponse:
    html = templates.get_template("action_link.html").render(
        title=title,
        message=message,
        refused=refused,
        view=view,
        headline=headline(view.incident, view.severity) if view else "",
        form=form,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def _claims_and_view(door: Door, token: str) -> tuple[LinkClaims, StatusView]:
    """The link's claims and its escalation as it stands; LinkRefused for any link not to be used."""
    if not door.secret:
        raise LinkRefused(403, "action links are not enabled here; act with 'escalate' instead")
    try:
        claims = read_link(token, door.secret)
    except LinkError as error:
        raise LinkRefused(403, str(error)) from None
    if claims.action not in LINK_ACTIONS:
        raise LinkRefused(403, "this link is not valid: it was changed or was not made here")
    try:
        view = await (await door.escalations()).status(claims.incident_id)
    except UnknownIncidentError:
        raise LinkRefused(404, f"{claims.incident_id} is not known here any more") from None
    except HTTPProblem as problem:
        raise LinkRefused(problem.status, str(problem.body.get("detail", ""))) from None
    if reason := earlier_escalation(claims, view, "this link"):
        raise LinkRefused(403, reason)
    return claims, view


def link_routes(app: FastAPI) -> None:
    @app.get("/a/{token}", response_class=HTMLResponse, tags=["links"])
    async def show(token: str, door: DoorDep) -> HTMLResponse:
        """A page's action link: the incident as it stands and one button. Changes nothing."""
        try:
            claims, view = await _claims_and_view(door, token)
        except LinkRefused as refused:
            return _page(refused.status, "This link cannot be used", message=refused.sentence, refused=True)
        action = BY_NAME[claims.action]
        title = f"{BUTTONS[action.name]} {view.incident_id}"
        if reason := moved_on(claims, claims.action, view):
            return _page(200, title, message=reason, view=view)
        return _page(200, title, view=view, form=_form(action, claims.responder))

    @app.post("/a/{token}", response_class=HTMLResponse, tags=["links"])
    async def act(token: str, request: Request, door: DoorDep) -> HTMLResponse:
        """Act as the link's responder (form fields: the action's inputs); shows the outcome."""
        try:
            claims, view = await _claims_and_view(door, token)
            form = await form_body(request, MAX_FORM_BYTES)
        except LinkRefused as refused:
            return _page(refused.status, "This link cannot be used", message=refused.sentence, refused=True)
        except HTTPProblem as problem:
            return _page(problem.status, "Not sent", message=str(problem.body["detail"]), refused=True)
        action = BY_NAME[claims.action]
        title = f"{BUTTONS[action.name]} {view.incident_id}"
        if form.get("action", action.name) != action.name:
            return _page(403, title, message=f"this link is for {action.name} only", refused=True, view=view)
        if reason := moved_on(claims, claims.action, view):
            return _page(200, title, message=reason, view=view)
        fields = {name: form[name] for name in action.inputs if name in form}
        request_fields = fields | {"responder": claims.responder, "via": Via.LINK}
        escalations = await door.escalations()
        try:
            result = await escalations.act(view.incident_id, action, request_fields)
        except RefusedError as error:
            now = await escalations.status(view.incident_id)
            return _page(409, title, message=error.reason, refused=True, view=now)
        except UnansweredError as error:
            return _page(503, title, message=str(error), refused=True, view=view)
        except EscalationError as error:
            form_again = _form(action, claims.responder)
            return _page(422, title, message=str(error), refused=True, view=view, form=form_again)
        outcome = action.outcome(result, action.request.model_validate(request_fields))
        return _page(200, title, message=outcome, view=await escalations.status(view.incident_id))
