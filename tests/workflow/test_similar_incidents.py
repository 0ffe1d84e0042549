"""The first page's similar past incidents reach the escalation's status and its Web UI details;
a look-up that fails leaves the page alone and says so in the timeline."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from activities.knowledge import SimilarLookup
from activities.notify import Notifier
from escalation.learning import SimilarIncident
from escalation.models import Incident, Severity
from escalation.reports import timeline_text, web_ui_url
from escalation.settings import DEFAULT_UI_URL
from escalation.state import EventKind, StatusView
from starter.drill import skip_time
from tests.support import start_input
from tests.workflow.conftest import Ladder, notified
from workflows.escalation import EscalationWorkflow

PAST = SimilarIncident(
    incident_id="incident:payments:pool",
    service="payments",
    severity=Severity.SEV1,
    title="Checkout database unreachable",
    triggered_at=datetime(2026, 10, 1, 2, 0, tzinfo=UTC),
    resolved_by="ana",
    root_cause="Connection pool exhausted by the batch job",
    prevention=["Alert on pool saturation"],
)


@asynccontextmanager
async def escalation(ladder: Ladder, similar: SimilarLookup) -> AsyncIterator[WorkflowHandle]:
    """An escalation on a worker whose pages look similar incidents up with ``similar``."""
    queue = f"similar-{uuid.uuid4().hex[:8]}"
    notifier = Notifier(
        ladder.api.config, os.environ, DEFAULT_UI_URL, ladder.client.namespace, similar=similar
    )
    async with Worker(ladder.client, task_queue=queue, workflows=[EscalationWorkflow],
                      activities=[notifier.notify, ladder.close_out]):  # fmt: skip
        handle = await ladder.client.start_workflow(
            EscalationWorkflow.run, start_input(), id=f"incident-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        ladder.started.append(handle)
        yield handle
        await ladder.terminate_open()


async def web_ui_details(handle: WorkflowHandle, expected: str) -> str:
    """The current details the Web UI shows, once they hold ``expected`` (set as the page finishes)."""
    details = ""
    for _ in range(100):
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        details = metadata.current_details
        if expected in details:
            break
        await asyncio.sleep(0.05)
    return details


async def test_the_first_pages_similar_incidents_show_in_status_and_web_ui_details(ladder: Ladder) -> None:
    searches: list[tuple[str, str, datetime]] = []

    async def found(incident: Incident, incident_id: str, triggered_at: datetime) -> list[SimilarIncident]:
        searches.append((incident.title, incident_id, triggered_at))
        return [PAST]

    async with escalation(ladder, found) as handle:
        view = await ladder.until(handle, lambda v: v.similar is not None)
        link = web_ui_url(DEFAULT_UI_URL, ladder.client.namespace, PAST.incident_id)
        assert view.similar == [PAST.model_copy(update={"link": link})]
        assert searches == [("Checkout database unreachable", handle.id, view.triggered_at)]
        assert "   root cause: Connection pool exhausted by the batch job" in timeline_text(view)

        details = await web_ui_details(handle, "Similar past incidents")
        assert "**Similar past incidents:**" in details
        assert "Root cause: Connection pool exhausted by the batch job" in details
        assert f"<{link}>" in details

        await skip_time(ladder.env, timedelta(minutes=16))  # frontline's timeout: its backup is paged
        view = await ladder.until(handle, lambda v: len(notified(v)) >= 2)
        assert len(searches) == 1, "only the first page looks similar incidents up"
        assert view.similar == [PAST.model_copy(update={"link": link})], "kept after later pages"


async def test_a_failed_look_up_leaves_the_page_alone_and_the_timeline_says_why(ladder: Ladder) -> None:
    async def broken(incident: Incident, incident_id: str, triggered_at: datetime) -> list[SimilarIncident]:
        raise ConnectionRefusedError("postgresql://escalation:hunter2@db.internal:5432/escalations")

    async with escalation(ladder, broken) as handle:
        view: StatusView = await ladder.until(
            handle, lambda v: any(e.kind is EventKind.SIMILAR_UNAVAILABLE for e in v.timeline)
        )
    [event] = [e for e in view.timeline if e.kind is EventKind.SIMILAR_UNAVAILABLE]
    assert event.note == (
        "similar past incidents could not be looked up: the record store failed (ConnectionRefusedError)"
    )
    assert (event.tier_name, event.phase) == ("frontline", "primary")
    assert notified(view) == [["ana"]], "the page went out"
    assert view.similar is None
