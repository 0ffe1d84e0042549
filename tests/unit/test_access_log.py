"""Answer-from-the-page tokens never reach the HTTP server's access log."""

from __future__ import annotations

import logging

from starter.web.access_log import ACCESS_LOGGER, hide_tokens_in_access_log


def test_link_and_call_tokens_are_hidden_from_access_log_lines(caplog) -> None:
    hide_tokens_in_access_log()
    hide_tokens_in_access_log()  # once is enough, however many apps are created
    logger = logging.getLogger(ACCESS_LOGGER)
    line = '%s - "%s %s HTTP/%s" %d'
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        for path in ("/a/eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl", "/v1/twilio/voice/eyJ.eyJ.sig?x=1", "/healthz"):
            logger.info(line, "127.0.0.1:5000", "POST", path, "1.1", 200)
    assert [record.getMessage() for record in caplog.records] == [
        '127.0.0.1:5000 - "POST /a/[token] HTTP/1.1" 200',
        '127.0.0.1:5000 - "POST /v1/twilio/voice/[token]?x=1 HTTP/1.1" 200',
        '127.0.0.1:5000 - "POST /healthz HTTP/1.1" 200',
    ]
    assert len(logger.filters) == 1
