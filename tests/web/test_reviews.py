"""Submitting a review over the API with a responder token, and from a signed review link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from activities.action_links import ActionLinks
from escalation.learning import ReviewStatus, ReviewSubmission
from escalation.reviews import ReviewSubmissionRequest
from escalation.state import EscalationRecord
from starter.api import RefusedError, UnknownIncidentError
from tests.web.conftest import API_SECRET, Api
from tests.web.test_api_client import client
from tests.web.test_ingest import trigger
from tests.web.test_links import current, link
from tests.workflow.conftest import notified

INCIDENT = "incident:payments:db-down"
LESSON = {"verdict": "partly", "stop_at": "supervisor", "prevention": ["alert on replica lag"]}
LINKS = ActionLinks(API_SECRET, "http://api", timedelta(hours=24))


async def resolved(api: Api) -> EscalationRecord:
    """The incident opened, acknowledged and resolved by ana over the API, and closed out."""
    assert (await api.enqueue(trigger())).status_code == 202
    handle = api.ladder.client.get_workflow_handle(INCIDENT, result_type=EscalationRecord)
    await api.ladder.until(handle, lambda view: len(notified(view)) == 1)
    for action, body in (("acknowledge", {}), ("resolve", {"summary": "failed over"})):
        path = f"/v1/incidents/{INCIDENT}/{action}"
        answer = await api.http.post(path, json=body, headers=api.token("ana"))
        assert answer.status_code == 200, answer.text
    return await handle.result()


async def submit(api: Api, body: Any, responder: str = "ana") -> httpx.Response:
    return await api.http.post(f"/v1/incidents/{INCIDENT}/review", json=body, headers=api.token(responder))


def review_link(record: EscalationRecord, responder: str = "ana") -> str:
    url = LINKS.review_url(record.incident_id, record.triggered_at, responder)
    assert url is not None
    return url.removeprefix("http://api")


def stored_status(api: Api) -> ReviewStatus | None:
    saved = api.ladder.store.latest(INCIDENT)
    return saved.review.status if saved and saved.review else None


async def test_the_owner_submits_the_review_over_the_api(api: Api) -> None:
    await resolved(api)

    answer = await submit(api, LESSON)

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "complete" and answer.json()["submitted_by"] == "ana"
    assert answer.json()["submission"]["stop_at"] == "supervisor"
    assert stored_status(api) is ReviewStatus.COMPLETE
    again = await submit(api, LESSON)
    assert again.status_code == 404 and "no review pending" in again.json()["detail"]


async def test_bad_bodies_name_the_field_and_refusals_say_why_changing_nothing(api: Api) -> None:
    unknown = await submit(api, LESSON)
    assert unknown.status_code == 404 and "no close-out record" in unknown.json()["detail"]
    await resolved(api)

    for body, field in (
        ({"verdict": "maybe", "lessons": ["x"]}, "verdict"),
        ({"verdict": "necessary", "lesson": ["x"]}, "lesson"),
        ({"verdict": "necessary", "prevention": [" "]}, "prevention"),
    ):
        bad = await submit(api, body)
        assert bad.status_code == 422 and field in str(bad.json()["detail"]), bad.text
    nothing = await submit(api, {"verdict": "necessary"})
    assert nothing.status_code == 422 and "at least one prevention action" in nothing.text
    not_owner = await submit(api, LESSON, responder="ben")
    assert not_owner.status_code == 409
    assert not_owner.json() == {"detail": "ben may not submit this review: it is ana's"}
    no_tier = await submit(api, LESSON | {"stop_at": "nowhere"})
    assert no_tier.status_code == 409 and "use one of: frontline, supervisor" in no_tier.json()["detail"]
    anonymous = await api.http.post(f"/v1/incidents/{INCIDENT}/review", json=LESSON)
    assert anonymous.status_code == 401
    assert stored_status(api) is ReviewStatus.PENDING


async def test_the_review_link_shows_the_form_then_submits_as_its_responder(api: Api) -> None:
    record = await resolved(api)
    path = review_link(record)

    shown = await api.http.get(path)
    assert shown.status_code == 200, shown.text
    assert "Submit the review as ana" in shown.text and 'name="prevention"' in shown.text
    assert shown.headers["cache-control"] == "no-store" and shown.headers["referrer-policy"] == "no-referrer"
    assert stored_status(api) is ReviewStatus.PENDING

    blank = await api.http.post(path, data={"verdict": "necessary", "prevention": "\n \n"})
    assert blank.status_code == 422 and "at least one prevention action" in blank.text
    no_tier = await api.http.post(path, data={"verdict": "partly", "stop_at": "nowhere", "lessons": "x"})
    assert no_tier.status_code == 409 and "is not a tier of policy support" in no_tier.text
    assert 'value="nowhere"' in no_tier.text, "the form comes back with what was typed"
    assert stored_status(api) is ReviewStatus.PENDING

    sent = await api.http.post(
        path, data={"verdict": "partly", "stop_at": "frontline", "prevention": "alert on lag\nadd a replica"}
    )
    assert sent.status_code == 200, sent.text
    assert "Review recorded" in sent.text and 'id="verdict">partly' in sent.text
    saved = api.ladder.store.latest(INCIDENT)
    assert saved and saved.review and saved.review.submission
    assert saved.review.submission.prevention == ["alert on lag", "add a replica"]
    after = await api.http.get(path)
    assert after.status_code == 200 and "Submit the review" not in after.text and ">complete<" in after.text


async def test_review_links_and_action_links_do_not_open_each_others_pages(api: Api) -> None:
    view = await current(api)
    action = link(view, "acknowledge")
    as_review = await api.http.get("/r/" + action.removeprefix("/a/"))
    assert as_review.status_code == 403 and "not valid" in as_review.text

    assert view.triggered_at is not None
    review = LINKS.review_url(view.incident_id, view.triggered_at, "ana")
    assert review is not None
    token = review.removeprefix("http://api/r/")
    as_action = await api.http.get("/a/" + token)
    assert as_action.status_code == 403 and "not valid" in as_action.text
    tampered = await api.http.post("/r/" + token[:-2] + "xx", data={"verdict": "necessary", "lessons": "x"})
    assert tampered.status_code == 403
    assert (await api.ladder.api.status(view.incident_id)).status == "triggered"


async def test_the_cli_client_submits_over_the_api_with_the_direct_paths_errors(api: Api) -> None:
    await resolved(api)
    lesson = ReviewSubmission.model_validate(LESSON)

    by_ben = ReviewSubmissionRequest(responder="ben", submission=lesson)
    by_ana = ReviewSubmissionRequest(responder="ana", submission=lesson)
    with pytest.raises(RefusedError, match="ben may not submit this review: it is ana's"):
        await client(api, "ben").submit_review(INCIDENT, by_ben)
    done = await client(api).submit_review(INCIDENT, by_ana)

    assert (done.status, done.submitted_by, done.submission) == (ReviewStatus.COMPLETE, "ana", lesson)
    with pytest.raises(UnknownIncidentError, match="no review pending"):
        await client(api).submit_review(INCIDENT, by_ana)
