"""``escalate drill``: who would be paged, when and on what, if nobody (or someone, later) answered.

Options are checked before any server starts, each problem one line naming the option and the fix.
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from escalation.config import Config
from escalation.durations import parse_duration
from escalation.models import EscalationPolicy, Severity, service_id
from escalation.schedules import moment
from escalation.settings import Settings
from escalation.state import Status
from escalation.text import for_terminal
from starter.drill_report import AckBy, DrillReport, DrillRequest, DrillRow, RowKind
from starter.errors import BadInputError
from starter.report import table


def add_drill_command(commands: argparse._SubParsersAction) -> None:
    drill = commands.add_parser(
        "drill",
        help="rehearse a policy: run the real ladder in skipped time, recording pages, sending nothing",
    )
    drill.add_argument("--service", required=True, help="the service (routes to a policy as a trigger would)")
    drill.add_argument("--severity", required=True, help="SEV1 (most urgent) to SEV4")
    drill.add_argument("--policy", help="drill this policy instead of the routing table's choice")
    drill.add_argument(
        "--at",
        metavar="TIME",
        help="simulated trigger time, e.g. 2026-11-28T03:00 (in the zone of the schedules the policy "
        "pages, else this machine's; default now)",
    )
    drill.add_argument(
        "--ack-by",
        metavar="RESPONDER@OFFSET",
        help="this responder acknowledges this long after the trigger, e.g. sofia@25m "
        "(default: nobody answers until the ladder is exhausted)",
    )
    drill.add_argument("--json", action="store_true", help="print the rows and the end as JSON")
    drill.set_defaults(run=run_drill_command)


async def run_drill_command(args: argparse.Namespace, settings: Settings) -> None:
    # imported on use (see starter/cli.py): the test server, a worker, the page templates
    from activities.pages import load_worker_config
    from starter.drill import run_drill

    config = load_worker_config(settings.config_dir)
    logging.getLogger("temporalio").setLevel(
        logging.WARNING
    )  # no worker start and stop lines around the table
    report = await run_drill(config, drill_request(args, config))
    print(report.model_dump_json(indent=2) if args.json else for_terminal(drill_text(report), multiline=True))


def drill_request(args: argparse.Namespace, config: Config) -> DrillRequest:
    """The drill the options ask for, or BadInputError naming the first option to fix."""
    try:
        service = service_id(args.service)
    except ValueError as error:
        raise BadInputError(f"--service: {error}") from None
    try:
        severity = Severity(args.severity.strip().upper())
    except ValueError:
        raise BadInputError(
            f"--severity: {args.severity!r} is not a severity; use SEV1 (most urgent) to SEV4"
        ) from None
    if args.policy is not None and args.policy not in config.policies:
        raise BadInputError(
            f"--policy: {args.policy!r} is not a policy; use one of: {', '.join(sorted(config.policies))}"
        )
    return DrillRequest(
        service=service,
        severity=severity,
        policy=args.policy,
        at=_at(args.at, _zone(config, config.policy_for(service, severity, args.policy))),
        ack_by=None if args.ack_by is None else _ack_by(args.ack_by, config),
    )


def _zone(config: Config, policy: EscalationPolicy) -> tzinfo | str:
    """Where a time without an offset is read: the zone of the schedules the policy pages, as
    ``escalate oncall --at`` reads it, else this machine's; several zones give a sentence instead."""
    zones = sorted({config.schedules[name].time_zone for name in policy.schedules()})
    if len(zones) > 1:
        return f"policy {policy.name!r} pages schedules in {' and '.join(zones)}"
    return ZoneInfo(zones[0]) if zones else datetime.now().astimezone().tzinfo or UTC


def _at(text: str | None, zone: tzinfo | str) -> datetime:
    """Aware and shown in ``zone``; when the policy's schedules disagree on one, the time must
    carry an offset and is shown in UTC."""
    shown = zone if isinstance(zone, tzinfo) else UTC
    if text is None:
        return datetime.now(shown)
    try:
        naive = datetime.fromisoformat(text.strip()).tzinfo is None
    except ValueError:
        naive = False  # moment() below says what to write
    if naive and isinstance(zone, str):
        raise BadInputError(f"--at: {zone}; add an offset, e.g. {text.strip()}Z or {text.strip()}+01:00")
    try:
        return moment(text, shown).astimezone(shown)
    except ValueError as error:
        raise BadInputError(f"--at: {error}") from None


def _ack_by(text: str, config: Config) -> AckBy:
    responder, at, offset = text.rpartition("@")
    responder = responder.strip()
    if not at or not responder:
        raise BadInputError(f"--ack-by: {text!r} names no responder; write RESPONDER@OFFSET, e.g. sofia@25m")
    if responder not in config.roster.responders:
        known = ", ".join(sorted(config.roster.responders))
        raise BadInputError(f"--ack-by: {responder!r} is not in the roster; use one of: {known}")
    try:
        return AckBy(responder=responder, offset=parse_duration(offset))
    except ValueError as error:
        raise BadInputError(f"--ack-by: after '@', {error}") from None


# --- text for a terminal ----------------------------------------------------------------


def _paged(row: DrillRow) -> str:
    """``sofia via console, email; sam via sms``, whom the step's schedules had on call, then what
    could not be sent and why."""
    paged = "; ".join(
        f"{', '.join(group.responders)} via {', '.join(channel.value for channel in group.channels)}"
        for group in row.paged
    )
    on_call = " ".join(f"[schedule:{name}: {', '.join(people)}]" for name, people in row.on_call.items())
    not_sent = [
        f"NOT SENT to {u.responder}{f' via {u.channel.value}' if u.channel else ''}: {u.reason}"
        for u in row.unreachable
    ]
    return "; ".join([" ".join(part for part in (paged or "nobody reached", on_call) if part), *not_sent])


def _who(row: DrillRow) -> str:
    if row.kind is RowKind.PAGE:
        return _paged(row)
    if row.kind is RowKind.SKIPPED:
        return row.note
    if row.kind is RowKind.ACKNOWLEDGED:
        return f"{row.responder} acknowledges: the ladder stops"
    if row.kind is RowKind.REFUSED:
        return f"{row.responder} tries to acknowledge: refused: {row.note}"
    return "exhausted: every step was paged; the escalation stays open"


def drill_text(report: DrillReport) -> str:
    at = report.at
    lines = [
        f"Drill: {report.severity.value} on {report.service} under policy {report.policy} "
        f"v{report.policy_version} ({report.chosen_by}), triggered {at:%a %Y-%m-%d %H:%M %Z}",
        "Nothing was sent: each page below was recorded only.",
        "",
    ]
    header = ("OFFSET", "TIME", "TIER", "PHASE", "ROUND", "PAGED")
    rows = [
        (
            row.offset,
            f"{row.at:%a %H:%M}",
            row.tier or "-",
            row.phase.value if row.phase else "-",
            str(row.round) if row.round else "-",
            _who(row),
        )
        for row in report.rows
    ]
    lines += table([header, *rows])
    end = report.end
    lines.append("")
    if end.status is Status.ACKNOWLEDGED:
        lines.append(f"Acknowledged by {end.responder} at {end.offset}.")
    else:
        lines.append(f"Exhausted at {end.offset}: nobody acknowledged.")
    return "\n".join(lines)
