"""Similar past incidents: looked up within a bound on the store's own threads, shortened for a
page, recorded in the escalation's state and shown in its status; a failure is one short line."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from activities.knowledge import MAX_PREVENTION, MAX_TEXT, Knowledge, store_lookup
from escalation import ladder
from escalation.learning import SimilarIncident
from escalation.models import Channel, Incident, Severity
from escalation.reports import current_details, timeline_text
from escalation.state import Delivery, EscalationState, EventKind, NotifyRequest, NotifyResult, Phase
from tests.support import incident, start_input

T0 = datetime(2026, 11, 25, 3, 12, tzinfo=UTC)
PAST = SimilarIncident(
    incident_id="incident:payments:pool",
    service="payments",
    severity=Severity.SEV1,
    title="Checkout [database] *unreachable*",
    triggered_at=datetime(2026, 10, 1, 2, 0, tzinfo=UTC),
    resolved_by="ana",
    root_cause="Connection pool exhausted\nby the batch job",
    prevention=["Alert on pool saturation", "Cap the batch job's connections"],
    link="http://ui.test/namespaces/default/workflows/incident%3Apayments%3Apool",
)


def request(first_page: bool = True) -> NotifyRequest:
    return NotifyRequest(
        incident_id="incident:payments:db-down", idempotency_key="k", triggered_at=T0, incident=incident(),
        severity=Severity.SEV2, tier_name="frontline", phase=Phase.PRIMARY, targets=["ana"], channels=None,
        deadline=T0 + timedelta(minutes=15), first_page=first_page,
    )  # fmt: skip


class BlockingStore:
    """A record store whose search blocks its thread until released, as a hung database does."""

    def __init__(self, found: list[SimilarIncident]) -> None:
        self.found = found
        self.release = threading.Event()
        self.searches: list[tuple[str, int, tuple[str, datetime] | None]] = []

    def similar(
        self, incident: Incident, *, limit: int = 3, exclude: tuple[str, datetime] | None = None
    ) -> list[SimilarIncident]:
        self.searches.append((incident.title, limit, exclude))
        assert self.release.wait(timeout=10), "the test never released the store"
        return self.found


def knowledge(store: BlockingStore) -> Knowledge:
    return Knowledge(store_lookup(store), lambda incident_id: f"http://ui.test/{incident_id}", str)


async def test_a_hung_store_costs_the_look_up_its_bound_and_the_next_look_up_still_works() -> None:
    store = BlockingStore([PAST.model_copy(update={"link": ""})])
    bound = knowledge(store)
    started = asyncio.get_running_loop().time()

    assert await bound.find(request(), within=0.2) == (None, "the record store did not answer within 0.2 s")
    assert asyncio.get_running_loop().time() - started < 2, "the caller did not wait for the thread"

    store.release.set()
    found, problem = await bound.find(request(), within=5)
    assert (found, problem) == (
        [PAST.model_copy(update={"link": "http://ui.test/incident:payments:pool"})],
        "",
    )
    assert store.searches == [("Checkout database unreachable", 3, ("incident:payments:db-down", T0))] * 2


async def test_only_a_first_page_looks_anything_up() -> None:
    store = BlockingStore([PAST])
    store.release.set()
    assert await knowledge(store).find(request(first_page=False), within=5) == (None, "")
    assert store.searches == []


async def test_a_failing_store_is_named_by_the_kind_of_failure_only() -> None:
    async def broken(incident: Incident, incident_id: str, triggered_at: datetime) -> list[SimilarIncident]:
        raise ConnectionRefusedError("postgresql://escalation:hunter2@db.internal:5432/escalations")

    found, problem = await Knowledge(broken, str, str).find(request(), within=5)
    assert (found, problem) == (None, "the record store failed (ConnectionRefusedError)")


async def test_long_lessons_are_shortened_for_the_page() -> None:
    wordy = PAST.model_copy(update={"root_cause": "x" * 5000, "prevention": ["y" * 5000] * 10})
    store = BlockingStore([wordy] * 5)
    store.release.set()
    found, _ = await knowledge(store).find(request(), within=5)
    assert found is not None and len(found) == 3, "the best three"
    assert len(found[0].root_cause) == MAX_TEXT and found[0].root_cause.endswith("…")
    assert len(found[0].prevention) == MAX_PREVENTION and all(len(p) == MAX_TEXT for p in found[0].prevention)


def paged(result: NotifyResult) -> EscalationState:
    start = start_input()
    state = ladder.begin(start, T0)
    ladder.record_notified(state, start.policy, state.step, result, T0 + timedelta(seconds=1))
    return state


REACHED = [Delivery(responder="ana", channel=Channel.EMAIL, delivered=True)]


def test_what_the_first_page_found_is_in_the_status_and_the_details_escaped() -> None:
    start = start_input()
    state = paged(NotifyResult(deliveries=REACHED, similar=[PAST]))
    view = ladder.view("incident-x", start, state)
    assert view.similar == [PAST]

    details = current_details(view)
    assert (
        "**Similar past incidents:**\n\n- **SEV1 payments\\: Checkout \\[database\\] \\*unreachable\\***"
        in details
    )
    assert "(2026\\-10\\-01 02\\:00\\:00 UTC, resolved by ana)" in details
    assert "Root cause: Connection pool exhausted  \nby the batch job" in details, "a line break stays one"
    assert "Prevention: Alert on pool saturation; Cap the batch job's connections" in details
    assert f"<{PAST.link}>" in details

    text = timeline_text(view)
    assert (
        "similar past incidents:\n  1. SEV1 payments: Checkout [database] *unreachable*  (2026-10-01" in text
    )
    assert "     root cause: Connection pool exhausted\n                 by the batch job" in text
    assert f"     {PAST.link}" in text


def test_none_found_says_so_and_not_looked_up_says_nothing() -> None:
    start = start_input()
    none_found = ladder.view("incident-x", start, paged(NotifyResult(deliveries=REACHED, similar=[])))
    assert "**Similar past incidents:** none found" in current_details(none_found)
    assert "no similar past incidents found" in timeline_text(none_found)

    not_looked_up = ladder.view("incident-x", start, paged(NotifyResult(deliveries=REACHED)))
    assert "imilar" not in current_details(not_looked_up) + timeline_text(not_looked_up)


def test_a_failed_look_up_is_an_event_and_the_page_is_still_recorded() -> None:
    problem = "the record store did not answer within 2.0 s"
    state = paged(NotifyResult(deliveries=REACHED, similar_problem=problem))
    kinds = [(e.kind, e.note) for e in state.timeline[1:]]
    assert kinds == [
        (EventKind.NOTIFIED, ""),
        (EventKind.SIMILAR_UNAVAILABLE, f"similar past incidents could not be looked up: {problem}"),
    ]
    assert state.similar is None
