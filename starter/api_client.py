"""The responder commands over the HTTP API, for people who hold a token but no Temporal access.

With ``ESCALATION_API_URL`` and ``ESCALATION_TOKEN`` set, ``escalate`` acts, lists and shows
status through the API as the token's responder; the API's answers become the same errors the
direct path raises, so the CLI prints one line and exits as it always does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from escalation.actions import Action, ActionRequest
from escalation.learning import Review
from escalation.models import Severity
from escalation.reviews import ReviewSubmissionRequest
from escalation.state import ActionResult, Status, StatusView
from starter.api import EscalationError, Listed, RefusedError, UnknownIncidentError
from starter.web.tokens import TokenError, claimed_responder

API_URL_ENV = "ESCALATION_API_URL"
TOKEN_ENV = "ESCALATION_TOKEN"
TIMEOUT_SECONDS = 60  # an action waits for the worker to apply it, as on the direct path
BAD_INPUT_STATUSES = (400, 413, 422)


class ApiInputError(Exception):
    """The API refused the request's fields: input the user can fix."""


def api_configured(env: Mapping[str, str]) -> bool:
    return bool(env.get(API_URL_ENV) and env.get(TOKEN_ENV))


class ApiClient:
    """The subset of ``Escalations`` a responder uses (act, status, list, submit_review), spoken over HTTP."""

    def __init__(self, base_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        try:
            self.responder = claimed_responder(token)
        except TokenError as error:
            raise ApiInputError(f"{TOKEN_ENV}: {error}") from None
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiClient:
        return cls(env[API_URL_ENV], env[TOKEN_ENV])

    async def act(self, incident_id: str, action: Action, request: ActionRequest) -> ActionResult:
        """The token says who acts: the request's ``responder`` is not sent."""
        body = request.model_dump(mode="json", exclude={"responder"}, exclude_none=True)
        answer = await self._call("POST", f"{_incident_path(incident_id)}/{action.name}", json=body)
        return ActionResult.model_validate(answer)

    async def submit_review(self, incident_id: str, request: ReviewSubmissionRequest) -> Review:
        """The token says who submits: the request's ``responder`` is not sent."""
        body = request.submission.model_dump(mode="json", exclude_none=True)
        answer = await self._call("POST", f"{_incident_path(incident_id)}/review", json=body)
        return Review.model_validate(answer)

    async def status(self, incident_id: str) -> StatusView:
        return StatusView.model_validate(await self._call("GET", _incident_path(incident_id)))

    async def list(
        self,
        status: Status | None = None,
        severity: Severity | None = None,
        service: str | None = None,
        limit: int = 50,
    ) -> list[Listed]:
        filters = {"status": status, "severity": severity, "service": service, "limit": limit}
        params = {name: str(value) for name, value in filters.items() if value is not None}
        return [
            Listed.model_validate(item) for item in await self._call("GET", "/v1/incidents", params=params)
        ]

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = await self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            raise EscalationError(
                f"cannot reach the API at {self.base_url} ({type(error).__name__}); "
                f"check {API_URL_ENV} and that the API runs ('escalate up' or 'escalate serve')"
            ) from None
        if response.is_success:
            return response.json()
        raise _problem(response)


def _incident_path(incident_id: str) -> str:
    return f"/v1/incidents/{quote(incident_id, safe='')}"


def _problem(response: httpx.Response) -> Exception:
    """The API's refusal as the error the direct path would raise."""
    detail = _detail(response)
    if response.status_code in BAD_INPUT_STATUSES:
        return ApiInputError(detail)
    if response.status_code == 409:
        return RefusedError(detail)
    if response.status_code == 404:
        return UnknownIncidentError(detail)
    if response.status_code == 401:
        return EscalationError(f"the API refused the token in {TOKEN_ENV}: {detail}")
    return EscalationError(f"the API answered {response.status_code}: {detail}")


def _detail(response: httpx.Response) -> str:
    """The sentence of a ``{"detail": ...}`` body; FastAPI's validation errors become 'field: problem'."""
    try:
        detail = response.json().get("detail", response.reason_phrase)
    except (ValueError, AttributeError):
        return response.reason_phrase
    if isinstance(detail, list):
        return "; ".join(_field_problem(item) for item in detail)
    return str(detail)


def _field_problem(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path"))
    return f"{where or '(request)'}: {item.get('msg', 'is invalid')}"
