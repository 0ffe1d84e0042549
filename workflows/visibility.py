"""Search attributes operators filter escalations by in the Web UI and ``temporal workflow list``."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from escalation.models import Incident
from escalation.state import EscalationState

STATUS = SearchAttributeKey.for_keyword("EscalationStatus")
TIER = SearchAttributeKey.for_int("EscalationTier")
SEVERITY = SearchAttributeKey.for_keyword("EscalationSeverity")
SERVICE = SearchAttributeKey.for_keyword("EscalationService")
ACKNOWLEDGED_BY = SearchAttributeKey.for_keyword("AcknowledgedBy")
TRIGGERED_AT = SearchAttributeKey.for_datetime("EscalationTriggeredAt")
"""Set once by the client that opens the escalation; Temporal carries it over on continue-as-new."""

ALL = (STATUS, TIER, SEVERITY, SERVICE, ACKNOWLEDGED_BY, TRIGGERED_AT)


def updates(incident: Incident, state: EscalationState) -> list[SearchAttributeUpdate]:
    """The values that describe an escalation right now (tiers count from 1, as people do).

    ``TRIGGERED_AT`` is not among them: it never changes, and the workflow's commands stay
    as saved histories recorded them.
    """
    acknowledged = (
        ACKNOWLEDGED_BY.value_set(state.acknowledged_by)
        if state.acknowledged_by
        else ACKNOWLEDGED_BY.value_unset()
    )
    return [
        STATUS.value_set(state.status.value),
        TIER.value_set(state.step.tier + 1),
        SEVERITY.value_set(state.severity.value),
        SERVICE.value_set(incident.service),
        acknowledged,
    ]
