"""``escalate report``: how escalation performs, from the close-out records, for a terminal,
as JSON, or as one self-contained HTML page with charts (``starter.report_page``)."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from escalation.durations import parse_duration
from escalation.models import service_id
from escalation.report_figures import (
    ReportFigures,
    TierCount,
    WorkingHours,
    duration_text,
    report_figures,
    time_zone,
)
from escalation.reports import utc_text
from escalation.settings import OWNER_ONLY_FILE, Settings
from escalation.text import for_terminal
from starter.errors import BadInputError
from starter.report_page import report_page

DEFAULT_SINCE = "30d"
T = TypeVar("T")


def add_report_command(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report", help="figures from the close-out records: times, tiers, reviews, load"
    )
    report.add_argument(
        "--since",
        metavar="DURATION",
        default=DEFAULT_SINCE,
        help=f"escalations triggered within this long, e.g. 7d or 12h (default {DEFAULT_SINCE})",
    )
    report.add_argument("--service", metavar="S", help="only this service")
    report.add_argument("--json", action="store_true", help="print the figures as JSON")
    report.add_argument(
        "--html", metavar="FILE", help="write the report as one self-contained HTML page with charts"
    )
    report.add_argument(
        "--timezone",
        metavar="ZONE",
        default="UTC",
        help="where working hours (Mon-Fri 09:00-18:00) are kept (default UTC)",
    )
    report.set_defaults(run=run_report)


def _option(flag: str, parse: Callable[[str], T], text: str) -> T:
    """``text`` parsed, or the parser's sentence naming ``flag`` as one line of bad input."""
    try:
        return parse(text)
    except ValueError as error:
        raise BadInputError(f"{flag}: {error}") from None


async def run_report(args: argparse.Namespace, settings: Settings) -> None:
    period = _option("--since", parse_duration, args.since)
    service = None if args.service is None else _option("--service", service_id, args.service)
    _option("--timezone", time_zone, args.timezone)
    hours = WorkingHours(timezone=args.timezone)
    html = None if args.html is None else _option("--html", _writable, args.html)
    from activities.store import RecordStore  # imported on use (see starter/cli.py)

    now = datetime.now(UTC)
    since = now - period
    records = await asyncio.to_thread(
        RecordStore.from_settings(settings).records, since=since, service=service
    )
    figures = report_figures(records, since=since, service=service, hours=hours)
    if html is not None:
        _write(html, report_page(figures, generated_at=now))
    if args.json:
        print(figures.model_dump_json(indent=2))
    elif html is not None:
        print(for_terminal(f"wrote {html}: {_scope(figures)}"))
    else:
        print(for_terminal(report_text(figures), multiline=True))


def _writable(text: str) -> Path:
    """Checked before the records are read, so a typo costs nothing."""
    path = Path(text)
    if path.is_dir():
        raise ValueError(f"{text} is a directory; name a file, e.g. {path / 'report.html'}")
    if not path.parent.is_dir():
        raise ValueError(f"{path.parent} does not exist; create it or name a file in an existing directory")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise ValueError(f"cannot write {text}; name a file in a directory you can write to")
    return path


def _write(path: Path, page: str) -> None:
    """Owner-only when created, like every file holding incident details."""
    try:
        with open(
            path, "w", encoding="utf-8", opener=lambda p, flags: os.open(p, flags, OWNER_ONLY_FILE)
        ) as file:
            file.write(page)
    except OSError as error:
        raise BadInputError(f"--html: cannot write {path} ({error.strerror}); name another file") from None


# --- text for a terminal ----------------------------------------------------------------


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{key} {count}" for key, count in counts.items()) or "-"


def _tiers(counts: Iterable[TierCount]) -> str:
    return _counts({c.label: c.count for c in counts})


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart, each cell on one line however it was written."""
    cells = [[for_terminal(cell) for cell in row] for row in rows]
    widths = [max(len(row[c]) for row in cells) for c in range(len(cells[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def _scope(figures: ReportFigures) -> str:
    service = f" for {figures.service}" if figures.service else ""
    since = f" since {utc_text(figures.since)}" if figures.since else ""
    return f"{figures.escalations} escalations{service}{since}"


def report_text(figures: ReportFigures) -> str:
    out = [_scope(figures)]
    if not figures.escalations:
        return out[0] + ": no close-out records in this period."
    severities = [
        ("SEVERITY", "COUNT", "OUTCOMES", "ACK p50", "ACK p90", "RESOLVE p50", "RESOLVE p90"),
        *(
            (
                s.severity.value,
                str(s.escalations),
                _counts(s.outcomes),
                duration_text(s.time_to_acknowledge.p50_seconds),
                duration_text(s.time_to_acknowledge.p90_seconds),
                duration_text(s.time_to_resolve.p50_seconds),
                duration_text(s.time_to_resolve.p90_seconds),
            )
            for s in figures.by_severity
        ),
    ]
    hours = figures.working_hours.describe()
    out += ["", *table(severities), ""]
    out += table(
        [
            ("Outcomes", _counts(figures.by_outcome)),
            ("Services", _counts(figures.by_service)),
            ("Tier that acknowledged", _tiers(figures.acknowledged_tiers)),
            ("Tier that resolved", _tiers(figures.resolved_tiers)),
            ("Escalated beyond the first tier", figures.escalated.text()),
            ("Ladder exhausted", str(figures.exhausted)),
            ("Unnecessary or partly (reviews)", figures.unnecessary.text()),
            ("Verdicts", _counts(figures.verdicts)),
            ("Reviews complete of required", figures.reviews.text()),
            ("Review states", _counts(figures.review_statuses)),
            ("Pages", str(figures.pages)),
            (f"Pages outside {hours}", str(figures.pages_outside_working_hours)),
        ]
    )
    if figures.responders:
        load = [("RESPONDER", "PAGES", "OUTSIDE HOURS")]
        load += [(r.responder, str(r.pages), str(r.outside_working_hours)) for r in figures.responders]
        out += ["", *table(load)]
    if figures.slowest:
        slow = [("SLOWEST TO RESOLVE", "SEV", "SERVICE", "TRIGGERED", "TOOK", "TITLE")]
        slow += [
            (
                i.incident_id,
                i.severity.value,
                i.service,
                utc_text(i.triggered_at),
                duration_text(i.time_to_resolve_seconds),
                i.title,
            )
            for i in figures.slowest
        ]
        out += ["", *table(slow)]
    return "\n".join(out)
