"""Paging a ladder step's targets on the tier's channels.

The request names responder ids only; contact details are looked up here, in the worker,
so they never enter a workflow's history.
"""

from __future__ import annotations

import structlog
from temporalio import activity

from escalation.models import Channel, Roster
from escalation.reports import headline
from escalation.state import NOTIFY_ACTIVITY, Delivery, NotifyRequest, NotifyResult


class Notifier:
    def __init__(self, roster: Roster) -> None:
        self._roster = roster

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, request: NotifyRequest) -> NotifyResult:
        log = structlog.get_logger().bind(
            incident_id=request.incident_id,
            tier=request.tier_name,
            phase=request.phase.value,
            idempotency_key=request.idempotency_key,
        )
        deliveries = []
        for responder_id in request.targets:
            responder = self._roster.responders.get(responder_id)
            for channel in request.channels:
                if responder is None:
                    deliveries.append(
                        Delivery(
                            responder=responder_id,
                            channel=channel,
                            delivered=False,
                            detail="not in the worker's roster; add them to roster.yaml",
                        )
                    )
                    continue
                if channel is Channel.CONSOLE:
                    log.warning(
                        "page",
                        responder=responder_id,
                        name=responder.name,
                        incident=headline(request.incident, request.severity),
                        acknowledge_by=request.deadline.isoformat(),
                    )
                deliveries.append(Delivery(responder=responder_id, channel=channel, delivered=True))
        return NotifyResult(deliveries=deliveries)
