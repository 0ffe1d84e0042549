"""Signed action links: ``<public URL>/a/<token>`` lets the person a page reached answer it.

A link's token is an HS256 JWT signed with the API's secret (the library and secret of
responder tokens, with its own audience so neither passes for the other). It names one
incident, the escalation that sent the page (by its opening time, so a later escalation
reusing the incident id is not touched), the responder, the action and the step paged, and
it expires. The worker mints links when it pages; the API checks them when they are used.
A voice call's keypad answer goes to a URL with a token of the same kind, bound to its own
action, so neither the call's token nor a link's is good at the other's address.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import ValidationError

from escalation.models import Strict
from escalation.replies import PagedStep
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


class LinkError(Exception):
    """The link is tampered with, signed elsewhere, expired or not a link; the sentence says which."""


class LinkClaims(PagedStep):
    """What a link token binds: who may do what to which escalation, at which step."""

    responder: str
    action: str
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
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["aud", "exp", "inc", "esc", "sub", "act", "step"]},
        )
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
    except jwt.ExpiredSignatureError:
        raise LinkError("this link has expired; act from a newer page or with 'escalate'") from None
    except (jwt.InvalidTokenError, ValidationError, ValueError, TypeError):
        raise LinkError("this link is not valid: it was changed or was not made here") from None
