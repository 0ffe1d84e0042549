"""What every front end answering from a page checks before it acts (links, Slack, SMS, voice):
the page was sent for the escalation running now, and its action still applies where the ladder is."""

from __future__ import annotations

from escalation.replies import PagedStep
from escalation.state import OPEN_STATUSES, StatusView


def earlier_escalation(step: PagedStep, view: StatusView, what: str) -> str | None:
    """Why ``what`` (``"this link"``, ``"this message"``) may not act: it was sent for an earlier
    escalation that reused the incident id."""
    if view.triggered_at != step.triggered_at:
        return f"{what} belongs to an earlier escalation of {step.incident_id}, which has ended"
    return None


def moved_on(step: PagedStep, action: str, view: StatusView) -> str | None:
    """Why ``action`` from this page no longer applies: the incident closed, or (for escalate) the
    ladder left the step the page was for, so a second answer never escalates twice."""
    if view.status not in OPEN_STATUSES:
        return f"{view.incident_id} is already {view.status.value} by {view.resolved_by}; nothing was done"
    if action == "escalate" and (view.round, view.tier_name, view.phase) != step.step:
        return (
            f"{view.incident_id} has moved to tier {view.tier_name} ({view.phase.value}) since this "
            "page; nothing was escalated"
        )
    return None
