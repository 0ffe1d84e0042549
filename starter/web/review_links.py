"""The page behind a review link (``/r/<token>``): GET shows the review and its form, POST submits.

As with action links, GET changes nothing. The POST submits as the token's responder through
the review's validated update, so the rules are the same as for ``escalate review``: a refusal
(not the owner, a tier the policy lacks, submitted already) is shown as its own sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from activities.action_links import LinkError, ReviewClaims, read_review_link
from escalation.learning import Review, ReviewStatus, ReviewSubmission, Verdict
from escalation.reviews import ReviewSubmissionRequest
from starter.api import EscalationError, RefusedError, UnansweredError, UnknownIncidentError
from starter.web.door import Door, DoorDep, HTTPProblem, form_body
from starter.web.links import MAX_FORM_BYTES, SECURITY_HEADERS, templates

LISTS = {
    "prevention": "Prevention actions",
    "lessons": "Lessons",
    "follow_ups": "Follow-ups",
}
"""The submission's lists: one form field each, one item per line."""


@dataclass(frozen=True)
class ReviewForm:
    responder: str
    verdicts: list[str]
    lists: Mapping[str, str]
    values: Mapping[str, str] = field(default_factory=dict)
    """What was typed, shown again when the submission was not taken."""


def _page(
    status: int,
    title: str,
    *,
    message: str = "",
    refused: bool = False,
    claims: ReviewClaims | None = None,
    review: Review | None = None,
    form: ReviewForm | None = None,
) -> HTMLResponse:
    html = templates.get_template("review_link.html").render(
        title=title, message=message, refused=refused, claims=claims, review=review, form=form
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _form(claims: ReviewClaims, values: Mapping[str, str] | None = None) -> ReviewForm:
    return ReviewForm(claims.responder, [verdict.value for verdict in Verdict], LISTS, values or {})


def _claims(door: Door, token: str) -> ReviewClaims:
    if not door.secret:
        raise HTTPProblem(403, {"detail": "review links are not enabled here; use 'escalate review' instead"})
    try:
        return read_review_link(token, door.secret)
    except LinkError as error:
        raise HTTPProblem(403, {"detail": str(error)}) from None


async def _review(door: Door, claims: ReviewClaims) -> Review:
    try:
        return await (await door.escalations()).review(claims.incident_id, claims.triggered_at)
    except UnknownIncidentError as error:
        raise HTTPProblem(404, {"detail": str(error)}) from None
    except EscalationError as error:
        raise HTTPProblem(409, {"detail": str(error)}) from None


def _submission(form: Mapping[str, str]) -> ReviewSubmission:
    """The form as a submission: one list item per non-blank line."""
    lists = {name: [line.strip() for line in form.get(name, "").splitlines()] for name in LISTS}
    return ReviewSubmission.model_validate(
        {
            "verdict": form.get("verdict", ""),
            "stop_at": form.get("stop_at", "").strip() or None,
            **{name: [item for item in items if item] for name, items in lists.items()},
        }
    )


def _problems(error: ValidationError) -> str:
    labels = {"verdict": "Verdict", "stop_at": "Could have stopped at", **LISTS}
    return "; ".join(
        f"{labels.get(str(item['loc'][0]), 'Review') if item['loc'] else 'Review'}: "
        f"{item['msg'].removeprefix('Value error, ')}"
        for item in error.errors(include_url=False)
    )


def review_link_routes(app: FastAPI) -> None:
    @app.get("/r/{token}", response_class=HTMLResponse, tags=["links"])
    async def review_page(token: str, door: DoorDep) -> HTMLResponse:
        """A review link: the review as it stands and, while it is pending, its form. Changes nothing."""
        try:
            claims = _claims(door, token)
            review = await _review(door, claims)
        except HTTPProblem as problem:
            sentence = problem.body["detail"]
            return _page(problem.status, "This link cannot be used", message=sentence, refused=True)
        title = f"Review of {claims.incident_id}"
        form = _form(claims) if review.status is ReviewStatus.PENDING else None
        return _page(200, title, claims=claims, review=review, form=form)

    @app.post("/r/{token}", response_class=HTMLResponse, tags=["links"])
    async def submit_review_form(token: str, request: Request, door: DoorDep) -> HTMLResponse:
        """Submit the review as the link's responder (form fields: verdict, stop_at, and the
        lists, one item per line); shows the outcome."""
        try:
            claims = _claims(door, token)
            review = await _review(door, claims)
            form = await form_body(request, MAX_FORM_BYTES)
        except HTTPProblem as problem:
            return _page(problem.status, "Not submitted", message=problem.body["detail"], refused=True)
        title = f"Review of {claims.incident_id}"
        try:
            submission = _submission(form)
        except ValidationError as error:
            return _page(
                422, title, message=_problems(error), refused=True, claims=claims, review=review,
                form=_form(claims, form),
            )  # fmt: skip
        escalations = await door.escalations()
        request_fields = ReviewSubmissionRequest(responder=claims.responder, submission=submission)
        try:
            done = await escalations.submit_review(claims.incident_id, request_fields, claims.triggered_at)
        except RefusedError as error:
            now = await escalations.review(claims.incident_id, claims.triggered_at)
            again = _form(claims, form) if now.status is ReviewStatus.PENDING else None
            return _page(
                409, title, message=error.reason, refused=True, claims=claims, review=now, form=again
            )
        except UnansweredError as error:
            return _page(503, title, message=str(error), refused=True, claims=claims, review=review)
        except EscalationError as error:
            return _page(404, title, message=str(error), refused=True, claims=claims, review=review)
        return _page(200, title, message="Review recorded; thank you.", claims=claims, review=done)
