"""Similar past incidents: same service first, then full-text relevance; only finished ones."""

from __future__ import annotations

from datetime import timedelta

from activities.store import RecordStore
from escalation.models import Incident
from escalation.state import Status
from tests.store.records import T0, closed, complete
from tests.support import incident

NEW = incident(key="new", title="Checkout database refuses connections", summary="Orders fail at payment")


def new(title: str) -> Incident:
    """A new payments incident, all its words in its title."""
    return incident(key="new", title=title, summary="")


def save_history(store: RecordStore) -> None:
    day = timedelta(days=1)
    for record in (
        closed("pool", title="Checkout database unreachable", root_cause="connection pool exhausted", at=T0),
        closed("latency", title="Checkout page slow", at=T0 + day),
        closed("replica", service="search", title="Database replica refuses connections", at=T0 + 2 * day),
        closed(
            "blurry", service="newsletter", title="Images blurry in emails", root_cause="CDN resize", at=T0
        ),
        closed("alarm", title="Checkout database unreachable", at=T0 + 3 * day, cancelled=True),
    ):
        store.save(record)


def keys(store: RecordStore, new: Incident = NEW, **options: object) -> list[str]:
    return [found.incident_id.rsplit(":", 1)[1] for found in store.similar(new, **options)]  # type: ignore[arg-type]


def test_same_service_first_then_the_most_relevant(store: RecordStore) -> None:
    save_history(store)
    assert keys(store, limit=5) == ["pool", "alarm", "latency", "replica"]


def test_an_unrelated_incident_is_not_similar(store: RecordStore) -> None:
    save_history(store)
    assert "blurry" not in keys(store, limit=10)
    assert keys(store, new("Quarterly invoices misprinted")) == []


def test_at_most_limit_and_never_the_escalation_itself(store: RecordStore) -> None:
    save_history(store)
    assert keys(store) == ["pool", "alarm", "latency"]
    assert keys(store, limit=1) == ["pool"]
    assert keys(store, exclude=("incident:payments:pool", T0)) == ["alarm", "latency", "replica"]
    assert keys(store, exclude=("incident:payments:pool", T0 + timedelta(days=9))) == [
        "pool",
        "alarm",
        "latency",
    ]


def test_only_finished_escalations_are_similar(store: RecordStore) -> None:
    still_open = closed("open", title="Checkout database unreachable")
    still_open = still_open.model_copy(update={"outcome": Status.EXHAUSTED})
    store.save(still_open)
    assert keys(store) == []


def test_the_root_cause_and_the_reviews_prevention_are_searched(store: RecordStore) -> None:
    record = closed("quiet", service="ledger", title="Nightly job late", root_cause="disk quota reached")
    store.save(record)
    assert keys(store, new("Disk quota alarms")) == ["quiet"], "matched in the root cause"

    rotation = new("Rotate certificates before expiry")
    assert keys(store, rotation) == []
    store.set_review(record.incident_id, record.triggered_at, complete("rotate certificates monthly"))
    assert keys(store, rotation) == ["quiet"], "matched in the review's prevention, once submitted"


def test_a_similar_incident_carries_what_the_page_shows(store: RecordStore) -> None:
    record = closed("pool", title="Checkout database unreachable", root_cause="connection pool exhausted")
    store.save(record)
    store.set_review(record.incident_id, record.triggered_at, complete("cap batch connections"))

    [found] = store.similar(NEW)

    assert found.model_dump() == {
        "incident_id": "incident:payments:pool",
        "service": "payments",
        "severity": record.severity,
        "title": "Checkout database unreachable",
        "triggered_at": T0,
        "resolved_by": "ana",
        "root_cause": "connection pool exhausted",
        "prevention": ["cap batch connections"],
        "link": "",
    }


def test_words_that_match_everything_find_nothing(store: RecordStore) -> None:
    save_history(store)
    assert keys(store, new("It is down")) == []
