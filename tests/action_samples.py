"""One accepted request per action of the table, for tests that walk every action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from escalation.state import Status, StatusView


@dataclass(frozen=True)
class Sample:
    request: dict[str, object]
    took_effect: Callable[[StatusView], bool]
    first: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    """Actions to apply before, so this one is accepted."""


SAMPLES: dict[str, Sample] = {
    "acknowledge": Sample({"responder": "ana", "note": "looking"}, lambda v: v.status is Status.ACKNOWLEDGED),
    "resolve": Sample(
        {"responder": "ana", "summary": "restarted", "root_cause": "disk full"},
        lambda v: v.status is Status.RESOLVED,
    ),
    "escalate": Sample(
        {"responder": "ana", "reason": "needs a supervisor"}, lambda v: v.tier_name == "supervisor"
    ),
    "note": Sample(
        {"responder": "ana", "text": "replica lag is 40 minutes"},
        lambda v: v.timeline[-1].note == "replica lag is 40 minutes",
    ),
    "change_severity": Sample(
        {"responder": "ana", "severity": "SEV3", "reason": "internal only"},
        lambda v: v.severity.value == "SEV3",
    ),
    "reassign": Sample(
        {"responder": "ana", "to": "ben"},
        lambda v: v.acknowledged_by == "ben",
        first=[("acknowledge", {"responder": "ana"})],
    ),
    "cancel": Sample(
        {"responder": "ana", "reason": "canary misfired"}, lambda v: v.status is Status.CANCELLED
    ),
}
"""For the test policy of ``tests.support`` (frontline ana/ben, supervisor sofia/sam, ...)."""
