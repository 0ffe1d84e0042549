"""Pages recorded, never sent: the activities of a drill (``escalate drill``).

The notify activity decides who gets which message exactly as the real one does (``plan`` over
the worker's roster and channels), records it with the time the workflow paged, and reports each
message delivered, so the ladder moves as it would on a night when nobody answers. A message
the real worker could not send (a channel not configured, a contact missing) is reported failed,
as the real worker would report it. Schedules are resolved by the real resolver, its clock moved
to the drill's simulated time. Nothing leaves the process and nothing is written anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import activity

from activities.contact_routing import Send, plan
from activities.targets import TargetResolver
from escalation.config import Config
from escalation.state import (
    CLOSE_OUT_ACTIVITY,
    NOTIFY_ACTIVITY,
    RESOLVE_TARGETS_ACTIVITY,
    Delivery,
    EscalationRecord,
    NotifyRequest,
    NotifyResult,
    ResolvedTargets,
    TargetsRequest,
)

RECORDED = "recorded by a drill; not sent"


@dataclass(frozen=True)
class RecordedPage:
    """One page as the workflow asked for it, and the messages contact routing chose for it."""

    at: datetime
    """When the workflow paged (the server's clock: simulated time in a drill)."""
    request: NotifyRequest
    sends: tuple[Send, ...]
    refused: tuple[Delivery, ...]
    """Messages the real worker would not send, with the reason (no contact, channel not set up)."""
    on_call: dict[str, list[str]]
    """The step's schedules, each with whom it had on call (none: the tier names people only)."""


def paged_at(request: NotifyRequest, scheduled: datetime) -> datetime:
    """When the workflow paged, on its own clock: the step's deadline less its wait.

    The activity's scheduling time comes later by however long the worker took over that step,
    which differs from step to step on a busy machine and so skews the gaps between pages either
    way. The wait is whole seconds and that delay well under one, so the wait is the deadline's
    distance from the scheduling time, rounded up."""
    wait = math.ceil((request.deadline - scheduled) / timedelta(seconds=1))
    return request.deadline - timedelta(seconds=wait)


class PageRecorder:
    """Registered under the notify, resolve-targets and close-out activity names in place of the
    real ones. ``clock_offset`` moves the resolver's clock from the server's to the drill's."""

    def __init__(self, config: Config, clock_offset: timedelta = timedelta(0)) -> None:
        self._roster = config.roster
        self._channels = config.channels
        self._resolver = TargetResolver(lambda: config, clock_offset)
        self._resolved: ResolvedTargets | None = None
        self._pages: dict[str, RecordedPage] = {}
        self.closed: list[EscalationRecord] = []

    @property
    def pages(self) -> list[RecordedPage]:
        """In the order they were paged; a retried attempt of the same page is recorded once."""
        return list(self._pages.values())

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, request: NotifyRequest) -> NotifyResult:
        sends, refused = plan(
            self._roster, self._channels, request.targets, request.severity, request.channels
        )
        resolved, self._resolved = self._resolved, None
        on_call = resolved.schedules if resolved and resolved.responders == request.targets else {}
        self._pages.setdefault(
            request.idempotency_key,
            RecordedPage(
                paged_at(request, activity.info().scheduled_time),
                request,
                tuple(sends),
                tuple(refused),
                on_call,
            ),
        )
        recorded = [
            Delivery(responder=responder, channel=send.channel, delivered=True, detail=RECORDED)
            for send in sends
            for responder in send.responders
        ]
        return NotifyResult(deliveries=[*recorded, *refused])

    @activity.defn(name=RESOLVE_TARGETS_ACTIVITY)
    async def resolve_targets(self, request: TargetsRequest) -> ResolvedTargets:
        """The real resolver's answer, kept for the page that follows it (the step's next activity)."""
        self._resolved = await self._resolver.resolve_targets(request)
        return self._resolved

    @activity.defn(name=CLOSE_OUT_ACTIVITY)
    async def close_out(self, record: EscalationRecord) -> None:
        """No record store, no review, no notices: the record is only kept here."""
        self.closed.append(record)
