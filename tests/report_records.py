"""Seven finished escalations for report tests, played through the ladder's own transitions.

Each is described in words beside its code; the report tests state their expected figures
from these descriptions, worked out by hand (see tests/unit/test_report_figures.py).
Times are given as a Monday and offsets from it, so a test can move the whole week (weekdays
and hours stay as they are) to keep it within ``--since``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalation import ladder
from escalation.actions import (
    AcknowledgeRequest,
    CancelRequest,
    EscalateRequest,
    ReassignRequest,
    ResolveRequest,
)
from escalation.learning import Review, ReviewStatus, ReviewSubmission, Verdict
from escalation.models import Channel, Severity
from escalation.state import Delivery, EscalationRecord, EscalationState, NotifyResult
from tests.support import incident, policy, start_input

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
"""A Monday, 00:00 UTC."""
NASTY_TITLE = '<script>alert("x")</script> & <b>bold</b> checkout'
POLICY = policy()
"""frontline: ana, backup ben; supervisor: sofia, backup sam; specialist: dba-kim and net-lee.
SEV1 starts at supervisor; no repeat, so timing out of specialist exhausts the ladder."""


def recent_monday(now: datetime) -> datetime:
    """``MONDAY`` moved by whole weeks to 7 to 13 days before ``now``: the whole week is past and
    within a 30-day ``--since``, on the same weekdays and hours."""
    return MONDAY + timedelta(weeks=(now - timedelta(days=7) - MONDAY).days // 7)


class Played:
    """One escalation played minute by minute from its trigger."""

    def __init__(
        self, key: str, service: str, severity: Severity, triggered: datetime, title: str = ""
    ) -> None:
        fields = {"service": service, **({"title": title} if title else {})}
        self.start = start_input(POLICY, incident(severity, key, **fields))
        self.t0 = triggered
        self.state: EscalationState = ladder.begin(self.start, triggered)

    def at(self, minutes: float) -> datetime:
        return self.t0 + timedelta(minutes=minutes)

    def page(self, minutes: float, *channels: Channel) -> Played:
        """The current step's responders reached on each of ``channels``."""
        step = self.state.step
        deliveries = [
            Delivery(responder=who, channel=channel, delivered=True)
            for channel in channels or (Channel.EMAIL,)
            for who in ladder.targets(POLICY, step)
        ]
        ladder.record_notified(
            self.state, POLICY, step, NotifyResult(deliveries=deliveries), self.at(minutes)
        )
        return self

    def time_out(self, minutes: float) -> Played:
        ladder.time_out(self.state, POLICY, self.at(minutes))
        return self

    def ack(self, minutes: float, who: str) -> Played:
        ladder.acknowledge(self.state, POLICY, AcknowledgeRequest(responder=who), self.at(minutes))
        return self

    def escalate(self, minutes: float, who: str) -> Played:
        ladder.escalate_now(
            self.state,
            POLICY,
            EscalateRequest(responder=who, reason="needs the specialists"),
            self.at(minutes),
        )
        return self

    def reassign(self, minutes: float, who: str, to: str) -> Played:
        ladder.reassign(self.state, POLICY, ReassignRequest(responder=who, to=to), self.at(minutes))
        return self

    def resolve(self, minutes: float, who: str) -> Played:
        ladder.resolve(self.state, POLICY, ResolveRequest(responder=who, summary="fixed"), self.at(minutes))
        return self

    def cancel(self, minutes: float, who: str) -> Played:
        ladder.cancel(
            self.state, POLICY, CancelRequest(responder=who, reason="false alarm"), self.at(minutes)
        )
        return self

    def record(self, review: Review | None) -> EscalationRecord:
        record = ladder.record(f"incident:{self.start.incident.service}:{self.start.incident.dedup_key}",
                               self.start, self.state)  # fmt: skip
        return record.model_copy(update={"review": review})


def complete(verdict: Verdict, by: str, stop_at: str | None = None) -> Review:
    return Review(
        status=ReviewStatus.COMPLETE,
        owner=by,
        submission=ReviewSubmission(verdict=verdict, stop_at=stop_at, lessons=["page the right tier sooner"]),
        submitted_by=by,
    )


def report_records(monday: datetime = MONDAY) -> list[EscalationRecord]:
    day = timedelta(days=1)

    def hour(days: int, hours: float) -> datetime:
        return monday + days * day + timedelta(hours=hours)

    return [
        # 1. payments SEV2, Mon 10:00: ana paged by e-mail and SMS (one page), acks at 5m, resolves
        #    at 45m. Review complete: necessary.
        Played("r1", "payments", Severity.SEV2, hour(0, 10))
        .page(0, Channel.EMAIL, Channel.SMS)
        .ack(5, "ana")
        .resolve(45, "ana")
        .record(complete(Verdict.NECESSARY, "ana")),
        # 2. payments SEV2, Mon 23:00: ana paged, then her backup ben at 15m, then supervisor sofia
        #    at 25m; sofia acks at 30m, resolves at 90m. Review complete: partly (stop at frontline).
        Played("r2", "payments", Severity.SEV2, hour(0, 23))
        .page(0)
        .time_out(15)
        .page(15)
        .time_out(25)
        .page(25)
        .ack(30, "sofia")
        .resolve(90, "sofia")
        .record(complete(Verdict.PARTLY, "sofia", stop_at="frontline")),
        # 3. search SEV1, Sat 12:00 (starts at supervisor): sofia, then backup sam at 5m, then the
        #    specialists dba-kim and net-lee at 10m; the ladder is exhausted at 20m; dba-kim acks at
        #    32m and resolves at 120m. Review pending. Its title is markup.
        Played("r3", "search", Severity.SEV1, hour(5, 12), title=NASTY_TITLE)
        .page(0, Channel.SLACK)
        .time_out(5)
        .page(5)
        .time_out(10)
        .page(10, Channel.SMS)
        .time_out(20)
        .ack(32, "dba-kim")
        .resolve(120, "dba-kim")
        .record(Review(status=ReviewStatus.PENDING, owner="dba-kim")),
        # 4. search SEV1, Tue 14:00: sofia paged, acks at 2m, escalates to the specialists at 10m
        #    (both paged then); net-lee acks at 14m, resolves at 40m. Review complete: unnecessary.
        Played("r4", "search", Severity.SEV1, hour(1, 14))
        .page(0, Channel.SLACK)
        .ack(2, "sofia")
        .escalate(10, "sofia")
        .page(10, Channel.SMS)
        .ack(14, "net-lee")
        .resolve(40, "net-lee")
        .record(complete(Verdict.UNNECESSARY, "net-lee", stop_at="supervisor")),
        # 5. payments SEV3, Wed 08:30: ana paged, cancels at 20m without acknowledging. No review needed.
        Played("r5", "payments", Severity.SEV3, hour(2, 8.5))
        .page(0)
        .cancel(20, "ana")
        .record(Review(status=ReviewStatus.NOT_REQUIRED)),
        # 6. payments SEV2, Thu 17:45: ana paged; backup ben paged at 15m (18:00 sharp), acks at 20m,
        #    hands it to sam (supervisor) at 25m; sam resolves at 100m. Review skipped.
        Played("r6", "payments", Severity.SEV2, hour(3, 17.75))
        .page(0)
        .time_out(15)
        .page(15)
        .ack(20, "ben")
        .reassign(25, "ben", "sam")
        .resolve(100, "sam")
        .record(Review(status=ReviewStatus.SKIPPED, owner="sam")),
        # 7. checkout SEV2, Fri 17:30: ana paged, resolves at 12m without acknowledging. No review
        #    state (closed before reviews existed).
        Played("r7", "checkout", Severity.SEV2, hour(4, 17.5)).page(0).resolve(12, "ana").record(None),
    ]
