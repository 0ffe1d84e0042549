"""Responder tokens: HS256 JWTs naming the responder, signed with ``ESCALATION_API_SECRET``."""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, datetime, timedelta

import jwt

from escalation.settings import SECRET_ENV

MIN_SECRET_BYTES = 32
"""HS256 wants a key at least as long as its hash (RFC 7518, 3.2)."""
ALGORITHM = "HS256"


class TokenError(Exception):
    """The token is missing, malformed, signed by another secret, expired or names nobody on the roster."""


def secret_problem(secret: str | None) -> str | None:
    if not secret:
        return f"environment variable {SECRET_ENV} is not set; export a random one (openssl rand -hex 32)"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"{SECRET_ENV} is shorter than {MIN_SECRET_BYTES} bytes; use e.g. openssl rand -hex 32"
    return None


def issue(responder: str, ttl: timedelta, secret: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return jwt.encode({"sub": responder, "iat": now, "exp": now + ttl}, secret, algorithm=ALGORITHM)


def responder_of(token: str, secret: str, roster: Container[str]) -> str:
    """The responder a valid token names; TokenError says what is wrong, never echoing the token."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("the token has expired; ask for a new one ('escalate token --as YOU')") from None
    except jwt.InvalidTokenError:
        raise TokenError(
            "the token is not valid here; ask for a new one ('escalate token --as YOU')"
        ) from None
    responder = claims["sub"]
    if not isinstance(responder, str) or responder not in roster:
        raise TokenError("the token's responder is not on the roster; ask for a new token") from None
    return responder


def claimed_responder(token: str) -> str:
    """The responder a token names, read without checking its signature: the API checks it; a
    client only needs the name, to refuse acting as anyone else before sending a request."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise TokenError("is not a token; get one with 'escalate token --as YOU'") from None
    responder = claims.get("sub")
    if not isinstance(responder, str) or not responder:
        raise TokenError("names no responder; get a new one with 'escalate token --as YOU'")
    return responder
