"""SMS reply codes as a book: per responder, one per open incident, the lowest free one first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalation.replies import Assignment, PagedIncident, ReplyBook, parse_reply
from escalation.state import Phase

OPENED = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def page(
    incident_id: str, opened: datetime = OPENED, tier: str = "frontline", *closed: PagedIncident
) -> Assignment:
    return Assignment(
        incident_id=incident_id,
        triggered_at=opened,
        round=0,
        tier_name=tier,
        phase=Phase.PRIMARY,
        closed=closed,
    )


def ended(incident_id: str, opened: datetime = OPENED) -> PagedIncident:
    return PagedIncident(incident_id=incident_id, triggered_at=opened)


@pytest.mark.parametrize(
    ("body", "parsed"),
    [("1a", (1, "acknowledge")), ("1 e", (1, "escalate")), ("1A", (1, "acknowledge")),
     ("  12 E. ", (12, "escalate")), ("3a\n", (3, "acknowledge"))],
)  # fmt: skip
def test_replies_parse_whatever_the_spacing_and_case(body: str, parsed: tuple[int, str]) -> None:
    assert parse_reply(body) == parsed


@pytest.mark.parametrize("body", ["", "a", "1", "1r", "ack 1", "1a please", "a1", "1aa", "-1a", "12345a"])
def test_anything_else_does_not_parse(body: str) -> None:
    assert parse_reply(body) is None


@given(st.text())
def test_any_text_parses_to_a_code_and_an_action_or_to_nothing(body: str) -> None:
    parsed = parse_reply(body)
    assert parsed is None or (parsed[0] >= 0 and parsed[1] in ("acknowledge", "escalate"))


def test_two_open_incidents_get_1_and_2_and_keep_them_on_later_pages() -> None:
    book = ReplyBook()
    book, first = book.assign(page("incident:db:a"))
    book, second = book.assign(page("incident:db:b"))
    book, again = book.assign(page("incident:db:a", OPENED, "supervisor"))
    assert (first, second, again) == (1, 2, 1)
    booked = book.lookup(1)
    assert booked is not None and (booked.incident_id, booked.tier_name) == ("incident:db:a", "supervisor")
    assert book.lookup(3) is None


def test_the_code_of_a_closed_incident_is_given_out_again_lowest_first() -> None:
    book = ReplyBook()
    for name in ("a", "b", "c"):
        book, _ = book.assign(page(f"incident:db:{name}"))
    book, code = book.assign(
        page("incident:db:d", OPENED, "frontline", ended("incident:db:a"), ended("incident:db:c"))
    )
    assert code == 1
    assert [(entry.code, entry.incident_id) for entry in book.entries] == [
        (1, "incident:db:d"),
        (2, "incident:db:b"),
    ]
    book, code = book.assign(page("incident:db:e"))
    assert code == 3


def test_a_closed_entry_names_its_escalation_so_a_newer_one_of_the_same_incident_is_kept() -> None:
    """Checked closed before a new escalation of the same incident id booked its code: not released."""
    book, _ = ReplyBook().assign(page("incident:db:a"))
    book, code = book.assign(page("incident:db:a", LATER))
    assert code == 1, "a new escalation of the same incident keeps the code"
    book, _ = book.assign(page("incident:db:b", OPENED, "frontline", ended("incident:db:a", OPENED)))
    booked = book.lookup(1)
    assert booked is not None and booked.triggered_at == LATER
