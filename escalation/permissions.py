"""Who may do what to an escalation. Each check returns the reason for refusal, or None.

Update validators raise these reasons to the caller; signal handlers log them and ignore
the signal, so a bad fire-and-forget call never changes an escalation.
"""

from __future__ import annotations

from escalation.models import EscalationPolicy
from escalation.state import AcknowledgeRequest, EscalationState, ResolveRequest, Status


def _not_in_policy(policy: EscalationPolicy, responder: str) -> str | None:
    allowed = policy.responders()
    if responder in allowed:
        return None
    return (
        f"responder {responder!r} is not a target of policy {policy.name!r}; "
        f"act as one of: {', '.join(sorted(allowed))}"
    )


def acknowledge_refusal(
    policy: EscalationPolicy, state: EscalationState, request: AcknowledgeRequest
) -> str | None:
    if state.status is Status.RESOLVED:
        return f"the incident is already resolved by {state.resolved_by}; nothing to acknowledge"
    if state.status is Status.ACKNOWLEDGED:
        return (
            f"the incident is already acknowledged by {state.acknowledged_by}; "
            "ask them to hand it over or resolve it"
        )
    return _not_in_policy(policy, request.responder)


def resolve_refusal(policy: EscalationPolicy, state: EscalationState, request: ResolveRequest) -> str | None:
    if state.status is Status.RESOLVED:
        return f"the incident is already resolved by {state.resolved_by}"
    if not request.summary.strip():
        return "summary is empty: say in a sentence what fixed it (--summary TEXT)"
    return _not_in_policy(policy, request.responder)
