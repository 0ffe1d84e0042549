"""Incident text made safe for each place it is shown: headers, terminals, Markdown, Slack, XML.

The incident model already normalises the text (see ``escalation.models``); these escape
what each medium would otherwise interpret, so text never turns into markup, mentions,
links, terminal commands or broken headers, also for text from older escalations.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from escalation.models import is_control

_HEADER_SAFE = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) != "%")
_MARKDOWN_SIGNIFICANT = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&=:])")
_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SLACK_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
BACKTICK_LOOKALIKE = "\u02cb"
"""MODIFIER LETTER GRAVE ACCENT: shows like a backtick but does not end a Slack code span."""


def header_value(value: str) -> str:
    """``value`` percent-encoded (RFC 3986) wherever it is not printable ASCII, and its ``%``.

    Printable keys travel unchanged; ``urllib.parse.unquote`` gives the original back.
    """
    return quote(value, safe=_HEADER_SAFE)


def for_terminal(text: str, *, multiline: bool = False) -> str:
    """Control characters shown as ``\\x1b``-style escapes, so text cannot drive the terminal."""
    keep = "\n" if multiline else ""
    return "".join(
        char
        if char in keep or not is_control(char)
        else f"\\u{ord(char):04x}"
        if ord(char) > 0xFF
        else f"\\x{ord(char):02x}"
        for char in text
    )


def markdown_text(text: str) -> str:
    """Markdown punctuation backslash-escaped: the text shows as written, never as links or HTML."""
    return _MARKDOWN_SIGNIFICANT.sub(r"\\\1", text)


def markdown_link(url: str) -> str:
    """A validated http(s) URL as an autolink (the URL's ``<``, ``>`` and spaces are percent-encoded)."""
    return f"<{url}>"


def mrkdwn(text: str) -> str:
    """Slack mrkdwn: ``&``, ``<`` and ``>`` escaped, so text makes no mentions or links."""
    return "".join(_SLACK_ENTITIES.get(char, char) for char in text)


def mrkdwn_code(text: str) -> str:
    """Slack mrkdwn for inside a `code span`: backticks become a look-alike, so the span holds."""
    return mrkdwn(text).replace("`", BACKTICK_LOOKALIKE)


def xml_chars(text: str) -> str:
    """Text an XML 1.0 document can hold: the characters it forbids removed. The XML writer
    (TwiML's) escapes the markup."""
    return _XML_INVALID.sub("", text)
