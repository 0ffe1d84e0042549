"""How the escalation system performs, computed from close-out records: what ``escalate report`` shows.

Pure: records in, one ``ReportFigures`` out, so every figure is checked against hand-computed
values. The definitions (what counts as escalated, unnecessary, a page, outside hours) live
in the docstrings of the fields, and the README repeats them for readers of the report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from escalation.durations import format_duration
from escalation.learning import ReviewStatus, Verdict
from escalation.models import Severity, Strict
from escalation.state import EscalationRecord, EventKind, Phase, Status

E = TypeVar("E")

SLOWEST = 5
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def time_zone(name: str) -> ZoneInfo:
    """``name`` as an IANA time zone, or a ValueError saying what to write."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone; use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from None


class WorkingHours(Strict):
    """When a page is part of the working day: ``weekdays`` (Monday is 0) from ``start`` to ``end``."""

    timezone: str = "UTC"
    weekdays: tuple[Annotated[int, Field(ge=0, le=6)], ...] = Field(default=(0, 1, 2, 3, 4), min_length=1)
    start: time = time(9)
    end: time = time(18)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        time_zone(name)
        return name

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError("working hours must start before they end")
        return self

    def contain(self, moment: datetime) -> bool:
        local = moment.astimezone(time_zone(self.timezone))
        return local.weekday() in self.weekdays and self.start <= local.time() < self.end

    def describe(self) -> str:
        """``Mon-Fri 09:00-18:00 UTC`` (a run of days as a range)."""
        days = [WEEKDAY_NAMES[d] for d in sorted(self.weekdays)]
        consecutive = sorted(self.weekdays) == list(range(min(self.weekdays), max(self.weekdays) + 1))
        span = f"{days[0]}-{days[-1]}" if consecutive and len(days) > 2 else ",".join(days)
        return f"{span} {self.start:%H:%M}-{self.end:%H:%M} {self.timezone}"


class Spread(Strict):
    """The median and 90th percentile of some durations (linear between the closest ranks)."""

    count: int
    p50_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        ordered = sorted(values)
        return cls(
            count=len(ordered), p50_seconds=percentile(ordered, 0.5), p90_seconds=percentile(ordered, 0.9)
        )


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` quantile of sorted values, interpolated like NumPy's default and Excel's
    PERCENTILE.INC; None for no values."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


class Share(Strict):
    """``count`` out of ``of``; ``rate`` is None when there is nothing to count."""

    count: int
    of: int
    rate: float | None

    @classmethod
    def of_total(cls, count: int, total: int) -> Share:
        return cls(count=count, of=total, rate=count / total if total else None)

    def text(self) -> str:
        """``3 of 8 (38%)``, or ``-`` with nothing to count."""
        return "-" if self.rate is None else f"{self.count} of {self.of} ({self.rate:.0%})"


def duration_text(seconds: float | None) -> str:
    """``1h2m5s``: a figure in seconds written as policies write durations, ``-`` when there is none."""
    return "-" if seconds is None else format_duration(timedelta(seconds=round(seconds)))


class SeverityFigures(Strict):
    severity: Severity
    escalations: int
    outcomes: dict[Status, int]
    time_to_acknowledge: Spread
    """Every escalation that was acknowledged, whatever its outcome."""
    time_to_resolve: Spread
    """Resolved escalations only: a cancellation ends a false alarm, it does not fix anything."""


class TierCount(Strict):
    tier: str | None
    """None: resolved without anyone acknowledging it or being handed it."""
    count: int

    @property
    def label(self) -> str:
        return self.tier or "nobody held it"


class ResponderLoad(Strict):
    responder: str
    pages: int
    outside_working_hours: int


class IncidentLine(Strict):
    """One escalation in a list of them: enough to find it and see why it is listed."""

    incident_id: str
    service: str
    severity: Severity
    title: str
    outcome: Status
    triggered_at: datetime
    time_to_resolve_seconds: float | None


class ReportFigures(Strict):
    """Everything the report shows; ``--json`` prints exactly this."""

    since: datetime | None
    service: str | None
    working_hours: WorkingHours
    escalations: int
    by_severity: list[SeverityFigures]
    by_service: dict[str, int]
    by_outcome: dict[Status, int]
    acknowledged_tiers: list[TierCount]
    """The tier of each escalation's first acknowledgement (what time to acknowledge counts)."""
    resolved_tiers: list[TierCount]
    """For resolved escalations: the tier of whoever held the incident last, acknowledged or handed it."""
    escalated: Share
    """Escalations whose ladder reached a tier other than the one it started at (its timeline names
    another tier), out of all. A backup of the starting tier, or a new round starting there, is not."""
    unnecessary: Share
    """Complete reviews whose verdict is ``unnecessary`` or ``partly`` (the ladder climbed further than
    needed, wholly or in part), out of complete reviews."""
    verdicts: dict[Verdict, int]
    exhausted: int
    """Escalations whose every tier was paged without an acknowledgement at some point."""
    reviews: Share
    """Complete reviews out of required ones (pending, complete or skipped)."""
    review_statuses: dict[ReviewStatus, int]
    pages: int
    """Pages that reached someone: one per responder per ladder step paged, however many channels."""
    pages_outside_working_hours: int
    responders: list[ResponderLoad]
    """Most paged first."""
    slowest: list[IncidentLine]
    """The resolved escalations that took longest, longest first."""


def _ordered_counts(counter: Counter[E], order: Iterable[E]) -> dict[E, int]:
    return {key: counter[key] for key in order if counter[key]}


def _first_tier(record: EscalationRecord) -> str | None:
    """The tier the ladder started at: the ``triggered`` event's, which a long timeline always keeps."""
    first = record.timeline[0] if record.timeline else None
    return first.tier_name if first and first.kind is EventKind.TRIGGERED else None


def escalated(record: EscalationRecord) -> bool:
    """Every event is labelled with the tier the ladder was at (or paged), so another name means it moved."""
    start = _first_tier(record)
    return any(e.tier_name not in (None, start) for e in record.timeline)


def exhausted(record: EscalationRecord) -> bool:
    return record.outcome is Status.EXHAUSTED or any(e.kind is EventKind.EXHAUSTED for e in record.timeline)


def pages(record: EscalationRecord) -> list[tuple[str, datetime]]:
    """(responder, when) of each page that reached someone. A page reaching one responder on several
    channels is several ``notified`` events of the same step at the same instant: counted once."""
    seen: dict[tuple[str, datetime, str | None, Phase | None], None] = {}
    for event in record.timeline:
        if event.kind is EventKind.NOTIFIED:
            seen.update(dict.fromkeys((who, event.at, event.tier_name, event.phase) for who in event.targets))
    return [(who, at) for who, at, _, _ in seen]


def _tiers(names: Iterable[str | None]) -> list[TierCount]:
    """Most frequent first, then by name (nobody last among equals)."""
    counted = Counter(names)
    ordered = sorted(counted.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    return [TierCount(tier=tier, count=count) for tier, count in ordered]


def _severity_figures(severity: Severity, records: list[EscalationRecord]) -> SeverityFigures:
    return SeverityFigures(
        severity=severity,
        escalations=len(records),
        outcomes=_ordered_counts(Counter(r.outcome for r in records), Status),
        time_to_acknowledge=Spread.of(
            r.time_to_acknowledge_seconds for r in records if r.time_to_acknowledge_seconds is not None
        ),
        time_to_resolve=Spread.of(
            r.time_to_resolve_seconds
            for r in records
            if r.outcome is Status.RESOLVED and r.time_to_resolve_seconds is not None
        ),
    )


def _responders(records: Sequence[EscalationRecord], hours: WorkingHours) -> list[ResponderLoad]:
    paged: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    for record in records:
        for who, at in pages(record):
            paged[who] += 1
            outside[who] += not hours.contain(at)
    ordered = sorted(paged, key=lambda who: (-paged[who], who))
    return [
        ResponderLoad(responder=who, pages=paged[who], outside_working_hours=outside[who]) for who in ordered
    ]


def _slowest(records: Sequence[EscalationRecord]) -> list[IncidentLine]:
    resolved = [r for r in records if r.outcome is Status.RESOLVED and r.time_to_resolve_seconds is not None]
    resolved.sort(key=lambda r: (-(r.time_to_resolve_seconds or 0), r.triggered_at))
    return [
        IncidentLine(
            incident_id=r.incident_id,
            service=r.incident.service,
            severity=r.severity,
            title=r.incident.title,
            outcome=r.outcome,
            triggered_at=r.triggered_at,
            time_to_resolve_seconds=r.time_to_resolve_seconds,
        )
        for r in resolved[:SLOWEST]
    ]


def report_figures(
    records: Sequence[EscalationRecord],
    *,
    since: datetime | None = None,
    service: str | None = None,
    hours: WorkingHours | None = None,
) -> ReportFigures:
    """The figures over ``records`` (already chosen by ``since`` and ``service``, which only label them).

    Severity is each escalation's last one: a severity raised mid-incident counts as raised.
    """
    hours = hours or WorkingHours()
    reviews = [r.review for r in records if r.review and r.review.status is not ReviewStatus.NOT_REQUIRED]
    verdicts = Counter(
        review.submission.verdict
        for review in reviews
        if review.status is ReviewStatus.COMPLETE and review.submission
    )
    complete = sum(review.status is ReviewStatus.COMPLETE for review in reviews)
    responders = _responders(records, hours)
    return ReportFigures(
        since=since,
        service=service,
        working_hours=hours,
        escalations=len(records),
        by_severity=[
            _severity_figures(severity, [r for r in records if r.severity is severity])
            for severity in Severity
            if any(r.severity is severity for r in records)
        ],
        by_service=dict(sorted(Counter(r.incident.service for r in records).items())),
        by_outcome=_ordered_counts(Counter(r.outcome for r in records), Status),
        acknowledged_tiers=_tiers(r.acknowledged_tier for r in records if r.acknowledged_tier),
        resolved_tiers=_tiers(r.last_held_tier for r in records if r.outcome is Status.RESOLVED),
        escalated=Share.of_total(sum(escalated(r) for r in records), len(records)),
        unnecessary=Share.of_total(verdicts[Verdict.UNNECESSARY] + verdicts[Verdict.PARTLY], complete),
        verdicts=_ordered_counts(verdicts, Verdict),
        exhausted=sum(exhausted(r) for r in records),
        reviews=Share.of_total(complete, len(reviews)),
        review_statuses=_ordered_counts(Counter(review.status for review in reviews), ReviewStatus),
        pages=sum(load.pages for load in responders),
        pages_outside_working_hours=sum(load.outside_working_hours for load in responders),
        responders=responders,
        slowest=_slowest(records),
    )
