"""The report as one self-contained HTML page: inline CSS and inline SVG bar charts, no scripts,
no fonts or images from anywhere, so it opens offline and can be mailed as a single file.

The charts' geometry is computed here and the template only draws it; every text from the
records (titles, services, responders) reaches the page through Jinja's autoescaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2

from escalation.report_figures import ReportFigures, Share, duration_text
from escalation.reports import utc_text

WIDTH = 640
LABEL_WIDTH = 150
VALUE_WIDTH = 130
LABEL_CHARS = 22
"""Longer labels (a responder id may have 63 characters) are cut to fit; the tooltip has them whole."""
ROW_HEIGHT = 26
BAR_HEIGHT = 16
PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Segment:
    """Part of a bar: ``series`` picks its colour (a CSS class), ``title`` is its tooltip."""

    series: str
    value: float
    title: str


@dataclass(frozen=True)
class BarInput:
    label: str
    segments: Sequence[Segment]
    value_text: str


@dataclass(frozen=True)
class Mark:
    series: str
    title: str
    x: float
    width: float


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    marks: list[Mark]
    value_text: str
    value_x: float

    @property
    def short_label(self) -> str:
        return self.label if len(self.label) <= LABEL_CHARS else self.label[: LABEL_CHARS - 1] + "\u2026"


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    legend: list[tuple[str, str]]
    rows: list[Row]
    track: bool
    """Draw each row's full scale behind its bar (for rates, whose scale is 100 %)."""
    empty: str

    @property
    def height(self) -> int:
        return max(len(self.rows), 1) * ROW_HEIGHT + 8


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[BarInput],
    legend: Sequence[tuple[str, str]] = (),
    scale: float | None = None,
    empty: str = "nothing to show for this period",
) -> Chart:
    """Horizontal bars, stacked from their segments, on one scale (default: the longest bar)."""
    longest = scale or max((sum(s.value for s in bar.segments) for bar in bars), default=0) or 1
    rows = []
    for index, bar in enumerate(bars):
        x, marks = float(LABEL_WIDTH), []
        for segment in bar.segments:
            if segment.value > 0:
                width = round(segment.value / longest * PLOT_WIDTH, 1)
                marks.append(Mark(segment.series, segment.title, round(x, 1), width))
                x += width
        value_x = LABEL_WIDTH + PLOT_WIDTH + 6 if scale else round(x + 6, 1)
        rows.append(Row(bar.label, 4 + index * ROW_HEIGHT, marks, bar.value_text, value_x))
    return Chart(chart_id, title, list(legend), rows, track=scale is not None, empty=empty)


def outcomes_chart(figures: ReportFigures) -> Chart:
    outcomes = list(dict.fromkeys(o for s in figures.by_severity for o in s.outcomes))
    bars = [
        BarInput(
            s.severity.value,
            [Segment(o.value, n, f"{s.severity.value} {o.value}: {n}") for o, n in s.outcomes.items()],
            str(s.escalations),
        )
        for s in figures.by_severity
    ]
    return bar_chart("outcomes", "Outcomes by severity", bars, [(o.value, o.value) for o in outcomes])


def _times_chart(figures: ReportFigures, chart_id: str, title: str, field: str) -> Chart:
    bars = []
    for s in figures.by_severity:
        spread = getattr(s, field)
        for name, seconds in (("p50", spread.p50_seconds), ("p90", spread.p90_seconds)):
            if seconds is not None:
                label = f"{s.severity.value} {name}"
                text = f"{duration_text(seconds)} (n={spread.count})"
                bars.append(BarInput(label, [Segment(name, seconds, f"{label}: {text}")], text))
    legend = [("p50", "median (p50)"), ("p90", "90th percentile (p90)")]
    return bar_chart(chart_id, title, bars, legend, empty="no escalation in this period had one")


def pages_chart(figures: ReportFigures) -> Chart:
    hours = figures.working_hours.describe()
    bars = [
        BarInput(
            r.responder,
            [
                Segment("inside", r.pages - r.outside_working_hours, f"{r.responder}: {r.pages} pages"),
                Segment(
                    "outside", r.outside_working_hours, f"{r.responder}: {r.outside_working_hours} outside"
                ),
            ],
            f"{r.pages} ({r.outside_working_hours} outside)",
        )
        for r in figures.responders
    ]
    legend = [("inside", f"within {hours}"), ("outside", "outside working hours")]
    return bar_chart("pages", "Pages per responder", bars, legend, empty="nobody was paged in this period")


def rates_chart(figures: ReportFigures) -> Chart:
    rates: list[tuple[str, Share]] = [
        ("Escalated", figures.escalated),
        ("Unnecessary", figures.unnecessary),
        ("Reviews done", figures.reviews),
    ]
    bars = [
        BarInput(label, [Segment("rate", share.rate or 0, f"{label}: {share.text()}")], share.text())
        for label, share in rates
    ]
    return bar_chart("rates", "Escalation, unnecessary escalation and review rates", bars, scale=1.0)


def charts(figures: ReportFigures) -> list[Chart]:
    return [
        outcomes_chart(figures),
        _times_chart(figures, "mtta", "Time to acknowledge by severity", "time_to_acknowledge"),
        _times_chart(figures, "mttr", "Time to resolve by severity (resolved only)", "time_to_resolve"),
        pages_chart(figures),
        rates_chart(figures),
    ]


def report_page(figures: ReportFigures, generated_at: datetime) -> str:
    return _templates.get_template("report.html").render(
        figures=figures,
        charts=charts(figures),
        generated=utc_text(generated_at),
        since=utc_text(figures.since) if figures.since else "the beginning",
        hours=figures.working_hours.describe(),
        duration=duration_text,
        utc=utc_text,
        width=WIDTH,
        label_width=LABEL_WIDTH,
        plot_width=PLOT_WIDTH,
        bar_height=BAR_HEIGHT,
        row_height=ROW_HEIGHT,
    )
