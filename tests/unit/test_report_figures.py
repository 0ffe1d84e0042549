"""Report figures against values worked out by hand from the seven escalations described in
tests/report_records.py (times in seconds; p50/p90 interpolate between the closest ranks)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from pytest import approx

from escalation.learning import ReviewStatus, Verdict
from escalation.models import Severity
from escalation.report_figures import (
    ReportFigures,
    Share,
    Spread,
    TierCount,
    WorkingHours,
    percentile,
    report_figures,
)
from escalation.state import Status
from tests.report_records import report_records

RESOLVED, CANCELLED = Status.RESOLVED, Status.CANCELLED


@pytest.fixture(scope="module")
def figures() -> ReportFigures:
    return report_figures(report_records())


def test_counts_by_severity_service_and_outcome(figures: ReportFigures) -> None:
    assert figures.escalations == 7
    assert [(s.severity, s.escalations, s.outcomes) for s in figures.by_severity] == [
        (Severity.SEV1, 2, {RESOLVED: 2}),  # 3, 4
        (Severity.SEV2, 4, {RESOLVED: 4}),  # 1, 2, 6, 7
        (Severity.SEV3, 1, {CANCELLED: 1}),  # 5
    ]
    assert figures.by_service == {"checkout": 1, "payments": 4, "search": 2}
    assert figures.by_outcome == {RESOLVED: 6, CANCELLED: 1}


def spread(figures: Spread) -> tuple[int, float | None, float | None]:
    return figures.count, figures.p50_seconds, figures.p90_seconds


def test_time_to_acknowledge_and_resolve_by_severity(figures: ReportFigures) -> None:
    sev1, sev2, sev3 = figures.by_severity
    # SEV1 acks: 2m (4), 32m (3) = 120, 1920 -> p50 120 + 1800 * .5, p90 120 + 1800 * .9
    assert spread(sev1.time_to_acknowledge) == (2, approx(1020), approx(1740))
    # SEV1 resolves: 40m (4), 120m (3) = 2400, 7200 -> p50 4800, p90 2400 + 4800 * .9
    assert spread(sev1.time_to_resolve) == (2, approx(4800), approx(6720))
    # SEV2 acks: 5m (1), 20m (6), 30m (2); 7 was never acknowledged -> p90 at rank 1.8: 1200 + 600 * .8
    assert spread(sev2.time_to_acknowledge) == (3, approx(1200), approx(1680))
    # SEV2 resolves: 12m (7), 45m (1), 90m (2), 100m (6) = 720, 2700, 5400, 6000
    # p50 at rank 1.5: 2700 + 2700 * .5; p90 at rank 2.7: 5400 + 600 * .7
    assert spread(sev2.time_to_resolve) == (4, approx(4050), approx(5820))
    # SEV3: cancelled unacknowledged: a cancellation is no time to resolve
    assert (
        sev3.time_to_acknowledge
        == sev3.time_to_resolve
        == Spread(count=0, p50_seconds=None, p90_seconds=None)
    )


def test_the_tiers_that_acknowledged_and_resolved(figures: ReportFigures) -> None:
    # first acks: frontline (1 ana, 6 ben), supervisor (2, 4 sofia), specialist (3 dba-kim)
    assert figures.acknowledged_tiers == [
        TierCount(tier="frontline", count=2),
        TierCount(tier="supervisor", count=2),
        TierCount(tier="specialist", count=1),
    ]
    # last held when resolved: specialist (3, 4), supervisor (2 sofia, 6 sam), frontline (1), nobody (7)
    assert figures.resolved_tiers == [
        TierCount(tier="specialist", count=2),
        TierCount(tier="supervisor", count=2),
        TierCount(tier="frontline", count=1),
        TierCount(tier=None, count=1),
    ]


def test_escalation_exhaustion_and_review_rates(figures: ReportFigures) -> None:
    # 2 reached supervisor, 3 and 4 the specialists; 6 only went to frontline's backup
    assert figures.escalated == Share(count=3, of=7, rate=3 / 7)
    assert figures.exhausted == 1  # 3
    # required: 1, 2, 3, 4, 6 (5 not required, 7 has no review state); complete: 1, 2, 4
    assert figures.reviews == Share(count=3, of=5, rate=0.6)
    assert figures.review_statuses == {
        ReviewStatus.PENDING: 1,
        ReviewStatus.COMPLETE: 3,
        ReviewStatus.SKIPPED: 1,
    }
    # of the 3 complete: 2 partly, 4 unnecessary
    assert figures.unnecessary == Share(count=2, of=3, rate=2 / 3)
    assert figures.verdicts == {Verdict.NECESSARY: 1, Verdict.UNNECESSARY: 1, Verdict.PARTLY: 1}


def test_pages_per_responder_and_outside_working_hours_in_utc(figures: ReportFigures) -> None:
    # outside Mon-Fri 09:00-18:00 UTC: all of 2 (Mon 23:xx), all of 3 (Sat), 5 (08:30), ben's in 6 (18:00)
    assert [(r.responder, r.pages, r.outside_working_hours) for r in figures.responders] == [
        ("ana", 5, 2),  # 1 in, 2 out, 5 out, 6 in (17:45), 7 in (17:30); 1's e-mail and SMS are one page
        ("sofia", 3, 2),  # 2 out, 3 out, 4 in
        ("ben", 2, 2),  # 2 out, 6 out
        ("dba-kim", 2, 1),  # 3 out, 4 in
        ("net-lee", 2, 1),
        ("sam", 1, 1),  # 3
    ]
    assert (figures.pages, figures.pages_outside_working_hours) == (15, 9)


def test_working_hours_in_another_time_zone() -> None:
    # Berlin is UTC+1 in November: 5 (09:30) moves in; 6 (18:45, 19:00) and 7 (18:30) move out
    berlin = report_figures(report_records(), hours=WorkingHours(timezone="Europe/Berlin"))
    assert [(r.responder, r.outside_working_hours) for r in berlin.responders] == [
        ("ana", 3),  # 2, 6, 7
        ("sofia", 2),
        ("ben", 2),
        ("dba-kim", 1),
        ("net-lee", 1),
        ("sam", 1),
    ]
    assert berlin.pages_outside_working_hours == 10


def test_the_working_day_includes_its_start_and_excludes_its_end() -> None:
    hours = WorkingHours()
    assert hours.contain(datetime(2026, 11, 6, 9, 0, tzinfo=UTC))  # Friday
    assert not hours.contain(datetime(2026, 11, 6, 18, 0, tzinfo=UTC))
    assert not hours.contain(datetime(2026, 11, 7, 12, 0, tzinfo=UTC))  # Saturday
    assert hours.describe() == "Mon-Fri 09:00-18:00 UTC"


def test_slowest_to_resolve_lists_the_longest_five(figures: ReportFigures) -> None:
    # 3: 120m, 6: 100m, 2: 90m, 1: 45m, 4: 40m (7's 12m is sixth; 5 was cancelled)
    assert [(i.incident_id, i.time_to_resolve_seconds) for i in figures.slowest] == [
        ("incident:search:r3", 7200),
        ("incident:payments:r6", 6000),
        ("incident:payments:r2", 5400),
        ("incident:payments:r1", 2700),
        ("incident:search:r4", 2400),
    ]


def test_no_records_give_zeros_and_no_rates() -> None:
    empty = report_figures([])
    assert empty.escalations == empty.pages == empty.exhausted == 0
    assert empty.by_severity == empty.responders == empty.slowest == []
    assert empty.escalated.rate is empty.unnecessary.rate is empty.reviews.rate is None


def test_percentiles_of_one_value_and_of_none() -> None:
    assert percentile([42.0], 0.9) == 42.0
    assert percentile([], 0.5) is None
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 0.9) == approx(46.0)


def test_unknown_time_zones_and_empty_working_days_are_refused() -> None:
    with pytest.raises(ValidationError, match="not a time zone"):
        WorkingHours(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValidationError):
        WorkingHours(weekdays=())
    with pytest.raises(ValidationError, match="start before they end"):
        WorkingHours(start="18:00", end="09:00")
