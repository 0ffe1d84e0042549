"""Keeps the tokens in answer-from-the-page URLs out of the HTTP server's access log.

A link (``/a/<token>``) or a call's answer URL (``/v1/twilio/voice/<token>``) is a credential:
whoever holds it acts as its responder until it expires, so its path is logged without it.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
_TOKEN_PATH = re.compile(r"^(/a/|/v1/twilio/voice/)[^?#\s]+")


class HideTokens(logging.Filter):
    """Rewrites uvicorn's access-log arguments (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_PATH.sub(r"\1[token]", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def hide_tokens_in_access_log() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, HideTokens) for f in logger.filters):
        logger.addFilter(HideTokens())
