"""The two sides of every comparison behind one interface: escalations through the product's Python
API and worker, and the bare floor (``bench.floor``) through a plain client, on its own task queue."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from bench.floor import FLOOR_QUEUE, BareLifecycle, BareTimers
from bench.support import DUE_POLICY, ESCALATION_QUEUE, HOLD_POLICY, SERVICE
from escalation.models import Incident, Severity
from escalation.state import EventKind, Phase
from starter.api import Escalations

Deadline = tuple[float, float | None]
"""When a deadline fell due and when the next page was recorded (None: not yet), in epoch seconds."""


class EscalationSide:
    """Escalations as a service opens them (``Escalations``) and responders answer them."""

    name, kind, queue = "escalation", "escalation", ESCALATION_QUEUE

    def __init__(self, escalations: Escalations, client: Client, due_seconds: int = 0) -> None:
        self.escalations, self.client, self.due = escalations, client, timedelta(seconds=due_seconds)

    async def trigger(self, key: str, policy: str = HOLD_POLICY) -> str:
        incident = Incident(title="Bench incident", service=SERVICE, severity=Severity.SEV3, dedup_key=key)
        return (await self.escalations.trigger(incident, policy=policy)).incident_id

    async def acknowledge(self, incident_id: str) -> None:
        await self.escalations.act(incident_id, "acknowledge", {"responder": "ana"})

    async def resolve(self, incident_id: str) -> None:
        await self.escalations.act(incident_id, "resolve", {"responder": "ana", "summary": "bench"})

    async def finished(self, incident_id: str) -> None:
        await self.client.get_workflow_handle(incident_id).result()

    async def start_due(self, key: str) -> str:
        """An escalation whose first deadline falls due ``due_seconds`` after it opens."""
        return await self.trigger(key, DUE_POLICY)

    async def deadline(self, incident_id: str) -> Deadline:
        """From the timeline: the first step's deadline, and the backup's page that followed it."""
        view = await self.escalations.status(incident_id)
        assert view.triggered_at is not None, "escalations opened by this version know when"
        paged = [e.at for e in view.timeline if e.kind is EventKind.NOTIFIED and e.phase is Phase.BACKUP]
        return (view.triggered_at + self.due).timestamp(), paged[0].timestamp() if paged else None


class FloorSide:
    """The bare workflows of the same shape."""

    name, kind, queue = "bare workflow", "floor", FLOOR_QUEUE

    def __init__(self, client: Client, due_seconds: int = 0) -> None:
        self.client, self.due_seconds = client, due_seconds

    async def trigger(self, key: str) -> str:
        start = WithStartWorkflowOperation(
            BareLifecycle.run,
            key,
            id=f"floor:{key}",
            task_queue=FLOOR_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await self.client.execute_update_with_start_workflow(
            BareLifecycle.trigger, "bench", start_workflow_operation=start
        )
        return (await start.workflow_handle()).id

    async def acknowledge(self, workflow_id: str) -> None:
        await self.client.get_workflow_handle(workflow_id).execute_update(BareLifecycle.acknowledge, "ana")

    async def resolve(self, workflow_id: str) -> None:
        await self.client.get_workflow_handle(workflow_id).execute_update(BareLifecycle.resolve, "ana")

    async def finished(self, workflow_id: str) -> None:
        await self.client.get_workflow_handle(workflow_id).result()

    async def start_due(self, key: str) -> str:
        handle = await self.client.start_workflow(
            BareTimers.run, self.due_seconds, id=f"floor-due:{key}", task_queue=FLOOR_QUEUE
        )
        return handle.id

    async def deadline(self, workflow_id: str) -> Deadline:
        due, paged = await self.client.get_workflow_handle(workflow_id).query(BareTimers.times)
        assert due is not None, "the deadline is set by the first workflow task, before the query"
        return due, paged


Side = EscalationSide | FloorSide
