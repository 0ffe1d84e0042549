"""Saving and reading close-out records and their reviews, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from activities.store import RecordNotFound, RecordStore
from tests.store.records import T0, closed, complete, pending


def test_a_saved_record_reads_back_whole(store: RecordStore) -> None:
    record = closed(
        summary="Primary refuses connections\nsince the 09:00 deploy", root_cause="pool exhausted"
    )
    store.save(record)
    assert store.latest(record.incident_id) == record
    assert store.get(record.incident_id, record.triggered_at) == record
    assert record.timeline, "the whole record, timeline included"


def test_latest_is_the_most_recent_escalation_of_an_incident(store: RecordStore) -> None:
    first, second = closed(at=T0), closed(at=T0 + timedelta(days=1), root_cause="again")
    store.save(second)
    store.save(first)
    assert store.latest(first.incident_id) == second
    assert store.get(first.incident_id, first.triggered_at) == first
    assert store.latest("incident:payments:never") is None
    assert store.get(first.incident_id, T0 + timedelta(hours=1)) is None


def test_a_trigger_time_in_another_zone_finds_the_same_escalation(store: RecordStore) -> None:
    record = closed()
    store.save(record)
    assert store.get(record.incident_id, T0.astimezone(timezone(timedelta(hours=2)))) == record


def test_saving_again_updates_the_one_row(store: RecordStore) -> None:
    store.save(closed(root_cause="first guess"))
    store.save(closed(root_cause="the real cause"))
    [saved] = store.records()
    assert saved.resolution and saved.resolution.root_cause == "the real cause"


def test_records_filter_by_time_and_service_oldest_first(store: RecordStore) -> None:
    day = timedelta(days=1)
    records = [
        closed("a", at=T0 + 2 * day),
        closed("b", at=T0),
        closed("c", service="search", at=T0 + day),
        closed("d", at=T0 + 3 * day, cancelled=True),
    ]
    for record in records:
        store.save(record)
    keys = lambda found: [r.incident.dedup_key for r in found]  # noqa: E731
    assert keys(store.records()) == ["b", "c", "a", "d"]
    assert keys(store.records(since=T0 + day)) == ["c", "a", "d"]
    assert keys(store.records(service="payments")) == ["b", "a", "d"]
    assert keys(store.records(since=T0 + day, service="payments")) == ["a", "d"]
    assert store.records(service="nothing-here") == []


def test_a_review_is_kept_with_its_record(store: RecordStore) -> None:
    record = closed()
    store.save(record.model_copy(update={"review": pending()}))
    assert (saved := store.latest(record.incident_id)) and saved.review == pending()

    store.set_review(record.incident_id, record.triggered_at, complete("alert on pool saturation"))
    assert (saved := store.latest(record.incident_id)) and saved.review == complete(
        "alert on pool saturation"
    )
    assert store.records()[0].review == complete("alert on pool saturation")


def test_saving_the_record_again_keeps_the_review_already_stored(store: RecordStore) -> None:
    """A retried close-out must not undo a review submitted since it first ran."""
    record = closed()
    store.save(record.model_copy(update={"review": pending()}))
    store.set_review(record.incident_id, record.triggered_at, complete())

    store.save(record.model_copy(update={"review": pending()}))
    store.save(record)

    assert (saved := store.get(record.incident_id, record.triggered_at)) and saved.review == complete()


def test_a_review_of_an_escalation_never_closed_out_is_refused(store: RecordStore) -> None:
    store.save(closed())
    with pytest.raises(RecordNotFound, match="incident:payments:db-down"):
        store.set_review("incident:payments:db-down", T0 + timedelta(hours=1), complete())
