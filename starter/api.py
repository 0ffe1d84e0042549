"""The Python API a service uses to open escalations and responders use to answer them.

escalations = await Escalations.connect()
opened = await escalations.trigger(incident)
await escalations.acknowledge(opened.incident_id, "ana")
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from escalation.config import Config, load_config
from escalation.connection import connect
from escalation.models import Incident
from escalation.reports import headline, report_markdown
from escalation.settings import Settings
from escalation.state import AcknowledgeRequest, EscalationInput, ResolveRequest, StatusView
from workflows.escalation import EscalationWorkflow


class EscalationError(Exception):
    """A request was refused or could not be carried out; the message says why and what to do."""


class Opened(BaseModel):
    incident_id: str
    workflow_id: str
    ui_url: str


def new_dedup_key() -> str:
    return secrets.token_hex(4)


def incident_id_for(incident: Incident) -> str:
    """One escalation per service and dedup key: the workflow id is derived from both."""
    return f"incident-{incident.service}-{incident.dedup_key}"


class Escalations:
    def __init__(self, client: Client, settings: Settings, config: Config | None = None) -> None:
        self._client = client
        self._settings = settings
        self._config = config

    @classmethod
    async def connect(cls, settings: Settings | None = None, config: Config | None = None) -> Escalations:
        return cls(await connect(), settings or Settings.from_env(), config)

    @property
    def config(self) -> Config:
        """Policies are needed only to open an escalation; acknowledging never depends on them."""
        if self._config is None:
            self._config = load_config(self._settings.config_dir)
        return self._config

    def ui_url(self, incident_id: str) -> str:
        base = self._settings.ui_url.rstrip("/")
        return f"{base}/namespaces/{quote(self._client.namespace)}/workflows/{quote(incident_id, safe='')}"

    async def trigger(self, incident: Incident, policy: str | None = None) -> Opened:
        """Open an escalation under the routed (or named) policy, snapshotted as it is now."""
        chosen = self.config.policy_for(incident.service, incident.severity, policy)
        incident_id = incident_id_for(incident)
        start = EscalationInput(incident=incident, policy=chosen, policy_digest=chosen.digest())
        try:
            await self._client.start_workflow(
                EscalationWorkflow.run,
                start,
                id=incident_id,
                task_queue=self._settings.task_queue,
                static_summary=headline(incident),
                static_details=report_markdown(incident),
            )
        except WorkflowAlreadyStartedError:
            raise EscalationError(
                f"incident {incident_id} is already open; acknowledge or resolve it, "
                "or use another --dedup-key for a different incident"
            ) from None
        return Opened(incident_id=incident_id, workflow_id=incident_id, ui_url=self.ui_url(incident_id))

    async def acknowledge(self, incident_id: str, responder: str, note: str = "") -> StatusView:
        request = AcknowledgeRequest(responder=responder, note=note)
        return await self._update(incident_id, EscalationWorkflow.acknowledge, request)

    async def resolve(
        self, incident_id: str, responder: str, summary: str, root_cause: str = ""
    ) -> StatusView:
        request = ResolveRequest(responder=responder, summary=summary, root_cause=root_cause)
        return await self._update(incident_id, EscalationWorkflow.resolve, request)

    async def status(self, incident_id: str) -> StatusView:
        handle = self._handle(incident_id)
        try:
            return await handle.query(EscalationWorkflow.status)
        except RPCError as error:
            raise await self._explain(incident_id, error) from None

    def _handle(self, incident_id: str) -> WorkflowHandle[EscalationWorkflow, object]:
        return self._client.get_workflow_handle_for(EscalationWorkflow.run, incident_id)

    async def _update(self, incident_id: str, update: object, request: BaseModel) -> StatusView:
        handle = self._handle(incident_id)
        try:
            return await handle.execute_update(update, request, result_type=StatusView)
        except WorkflowUpdateFailedError as error:
            raise EscalationError(f"refused: {error.cause.message if error.cause else error}") from None
        except RPCError as error:
            raise await self._explain(incident_id, error) from None

    async def _explain(self, incident_id: str, error: RPCError) -> EscalationError:
        """Turn a server error about one incident into a sentence a responder can act on."""
        if error.status != RPCStatusCode.NOT_FOUND:
            return EscalationError(f"{incident_id}: {error.message}")
        try:
            description = await self._handle(incident_id).describe()
        except RPCError:
            return EscalationError(f"no incident {incident_id!r}; check the id printed by 'escalate trigger'")
        state = description.status.name.lower() if description.status else "closed"
        return EscalationError(f"incident {incident_id} is {state} and takes no more actions")
