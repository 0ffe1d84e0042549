"""What every front end answering from a page checks before it acts (signed links, Slack buttons):
the page was sent for the escalation running now, and its action still applies where the ladder is."""

from __future__ import annotations

from activities.action_links import PageStep
from escalation.state import OPEN_STATUSES, StatusView


def earlier_escalation(step: PageStep, view: StatusView, what: str) -> str | None:
    """Why ``what`` (``"this link"``, ``"this message"``) may not act: it was sent for an earlier
    escalation that reused the incident id."""
    if view.triggered_at != step.triggered_at:
        return f"{what} belongs to an earlier escalation of {step.incident_id}, which has ended"
    return None


def moved_on(step: PageStep, action: str, view: StatusView) -> str | None:
    """Why ``action`` from this page no longer applies: the incident closed, or (for escalate) the
    ladder left the step the page was for, so a second answer never escalates twice."""
    if view.status not in OPEN_STATUSES:
        return f"{view.incident_id} is already {view.status.value} by {view.resolved_by}; nothing was done"
    now = (view.round, view.tier_name, view.phase)
    if action == "escalate" and now != (step.round, step.tier_name, step.phase):
        return (
            f"{view.incident_id} has moved to tier {view.tier_name} ({view.phase.value}) since this "
            "page; nothing was escalated"
        )
    return None
