"""Signed action links: ``<public URL>/a/<token>`` lets the person a page reached answer it.

A link's token is an HS256 JWT signed with the API's secret (the library and secret of
responder tokens, with its own audience so neither passes for the other). It names one
incident, the escalation that sent the page (by its opening time, so a later escalation
reusing the incident id is not touched), the responder, the action and the step paged, and
it expires. The worker mints links when it pages; the API checks them when they are used.
A voice call's keypad answer goes to a URL with a token of the same kind, bound to its own
action, so neither the call's token nor a link's is good at the other's address.

A review link (``<public URL>/r/<token>``) opens the post-incident review of one escalation for
one responder. Its token has an audience of its own, so it never acts on an incident, an action
link never submits a review, and it lives as long as the review window instead of the pages' TTL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pydantic import ValidationError

from escalation.models import ReviewRule, Strict
from escalation.replies import PagedIncident, PagedStep
from escalation.settings import SECRET_ENV, Settings
from escalation.state import NotifyRequest

LINK_ACTIONS = ("acknowledge", "resolve", "escalate")
"""What a page offers, in the order it offers them."""
AUDIENCE = "escalation:action-link"
ALGORITHM = "HS256"
LINK_PATH = "/a/"
VOICE_ACTION = "voice"
"""The action of a call's token: the key pressed says what to do (``escalation.replies.VOICE_KEYS``)."""
VOICE_PATH = "/v1/twilio/voice/"
REVIEW_AUDIENCE = "escalation:review-link"
REVIEW_PATH = "/r/"
NOT_VALID = "this link is not valid: it was changed or was not made here"


class LinkError(Exception):
    """The link is tampered with, signed elsewhere, expired or not a link; the sentence says which."""


class LinkClaims(PagedStep):
    """What a link token binds: who may do what to which escalation, at which step."""

    responder: str
    action: str
    expires: datetime


class ReviewClaims(PagedIncident):
    """What a review link binds: who may review which escalation, until when."""

    responder: str
    expires: datetime


class PageLinks(Strict):
    """One recipient's links on one page."""

    acknowledge: str
    resolve: str
    escalate: str


class ActionLinks:
    """Mints the links a page carries; ``None`` in a worker without a secret or public URL."""

    def __init__(self, secret: str, public_url: str, ttl: timedelta) -> None:
        self._secret = secret
        self._public_url = public_url.rstrip("/")
        self._ttl = ttl

    def for_recipient(self, request: NotifyRequest, responder: str, now: datetime | None = None) -> PageLinks:
        base = self._public_url + LINK_PATH
        return PageLinks(
            **{action: base + self._token(request, responder, action, now) for action in LINK_ACTIONS}
        )

    def for_call(self, request: NotifyRequest, responder: str, now: datetime | None = None) -> str:
        """Where a page's call sends the key its listener presses (TwiML's ``<Gather action>``)."""
        return self._public_url + VOICE_PATH + self._token(request, responder, VOICE_ACTION, now)

    def review_url(
        self,
        incident_id: str,
        triggered_at: datetime,
        responder: str,
        due_at: datetime | None = None,
        now: datetime | None = None,
    ) -> str | None:
        """The link to the escalation's review form for ``responder``, valid until the review
        window closes at ``due_at`` (``Review.due_at``; default: the default window from now).
        None once the window has closed: there is nothing left to submit."""
        now = now or datetime.now(UTC)
        expires = due_at or now + ReviewRule().window
        if expires <= now:
            return None
        claims = ReviewClaims(
            incident_id=incident_id, triggered_at=triggered_at, responder=responder, expires=expires
        )
        payload = {
            "aud": REVIEW_AUDIENCE,
            "exp": claims.expires,
            "inc": claims.incident_id,
            "esc": claims.triggered_at.isoformat(),
            "sub": claims.responder,
        }
        return self._public_url + REVIEW_PATH + jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def _token(self, request: NotifyRequest, responder: str, action: str, now: datetime | None) -> str:
        step = PagedStep.of(request)
        if step is None:
            raise ValueError("a page without its escalation's opening time cannot carry links")
        expires = (now or datetime.now(UTC)) + self._ttl
        claims = LinkClaims(**dict(step), responder=responder, action=action, expires=expires)
        return mint(claims, self._secret)


def mint(claims: LinkClaims, secret: str) -> str:
    """The token for ``claims``, compact enough for an SMS."""
    payload = {
        "aud": AUDIENCE,
        "exp": claims.expires,
        "inc": claims.incident_id,
        "esc": claims.triggered_at.isoformat(),
        "sub": claims.responder,
        "act": claims.action,
        "step": [claims.round, claims.tier_name, claims.phase.value],
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def action_links(settings: Settings, env: Mapping[str, str]) -> ActionLinks | None:
    """The worker's link minter, or None (pages then carry commands only) without both the
    public URL and the secret."""
    secret = env.get(SECRET_ENV, "")
    if not (settings.public_url and secret):
        return None
    return ActionLinks(secret, str(settings.public_url), settings.link_ttl)


def read_link(token: str, secret: str) -> LinkClaims:
    """The claims of a genuine, unexpired link token; LinkError otherwise (never echoing the token)."""
    claims = _decode(token, secret, AUDIENCE, ("act", "step"), "act from a newer page or with 'escalate'")
    try:
        round_, tier_name, phase = claims["step"]
        return LinkClaims(
            incident_id=claims["inc"],
            triggered_at=claims["esc"],
            responder=claims["sub"],
            action=claims["act"],
            round=round_,
            tier_name=tier_name,
            phase=phase,
            expires=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (ValidationError, ValueError, TypeError):
        raise LinkError(NOT_VALID) from None


def read_review_link(token: str, secret: str) -> ReviewClaims:
    """The claims of a genuine review link whose window is open; LinkError otherwise."""
    claims = _decode(token, secret, REVIEW_AUDIENCE, (), "the review window has closed")
    try:
        return ReviewClaims(
            incident_id=claims["inc"],
            triggered_at=claims["esc"],
            responder=claims["sub"],
            expires=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (ValidationError, ValueError, TypeError):
        raise LinkError(NOT_VALID) from None


def _decode(
    token: str, secret: str, audience: str, required: tuple[str, ...], after_expiry: str
) -> dict[str, Any]:
    """A token's verified claims for ``audience`` (a token of another audience is not valid)."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            options={"require": ["aud", "exp", "inc", "esc", "sub", *required]},
        )
    except jwt.ExpiredSignatureError:
        raise LinkError(f"this link has expired; {after_expiry}") from None
    except jwt.InvalidTokenError:
        raise LinkError(NOT_VALID) from None
