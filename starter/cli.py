"""``escalate``: open, answer and inspect escalations from a terminal.

Every failure is one line on stderr and a non-zero exit code: 2 for bad input (arguments,
configuration, incident files), 1 for refusals and problems reaching Temporal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

from escalation.config import ConfigError, describe, load_config, read_yaml
from escalation.connection import ConnectionProblem
from escalation.logs import configure_logging
from escalation.models import Incident, Severity
from escalation.records import RecordStore
from escalation.reports import timeline_text
from escalation.settings import Settings
from starter.api import EscalationError, Escalations, new_dedup_key
from starter.embedded import Embedded, EmbeddedProblem, run_embedded, run_worker_only

BAD_INPUT = 2
FAILED = 1


class BadInput(Exception):
    """Input the user can fix; printed as is, exit code 2."""


def _print_json(value: BaseModel | dict[str, Any]) -> None:
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    print(json.dumps(data, indent=2))


def _severity(text: str) -> Severity:
    try:
        return Severity(text.upper())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a severity; use SEV1 (most urgent) to SEV4"
        ) from None


def _incident(args: argparse.Namespace) -> Incident:
    """Merge ``--file`` with the flags (flags win) and validate it as an incident."""
    data: dict[str, Any] = {}
    if args.file:
        loaded = read_yaml(Path(args.file))
        if not isinstance(loaded, dict):
            raise BadInput(f"{args.file}: expected a mapping of incident fields (title, service, ...)")
        data.update(loaded)
    flags = {"service": args.service, "severity": args.severity, "title": args.title,
             "dedup_key": args.dedup_key, "summary": args.summary}  # fmt: skip
    data.update({key: value for key, value in flags.items() if value is not None})
    data.setdefault("dedup_key", new_dedup_key())
    try:
        return Incident.model_validate(data)
    except ValidationError as error:
        source = args.file or "incident"
        raise BadInput("; ".join(describe(error, Incident, source))) from None


async def _trigger(args: argparse.Namespace, settings: Settings) -> None:
    incident = _incident(args)
    config = load_config(settings.config_dir)
    escalations = await Escalations.connect(settings, config)
    opened = await escalations.trigger(incident, policy=args.policy)
    if args.json:
        _print_json(opened)
    else:
        print(f"opened {opened.incident_id}\n  Web UI: {opened.ui_url}")


async def _ack(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.acknowledge(args.incident_id, args.responder, args.note or "")
    print(f"{view.incident_id} acknowledged by {view.acknowledged_by} (tier {view.tier_name})")


async def _resolve(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.resolve(args.incident_id, args.responder, args.summary, args.root_cause or "")
    print(f"{view.incident_id} resolved by {view.resolved_by}; the close-out record is being written")


async def _status(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.status(args.incident_id)
    if args.json:
        _print_json(view)
    else:
        print(timeline_text(view))


async def _record(args: argparse.Namespace, settings: Settings) -> None:
    record = RecordStore(settings.database_path).latest(args.incident_id)
    if record is None:
        raise EscalationError(
            f"no close-out record for {args.incident_id} in {settings.database_path}; "
            "records are written when an incident is resolved"
        )
    if args.json:
        _print_json(record)
        return
    print(f"{record.incident_id}: {record.outcome.value} by {record.resolved_by} "
          f"(policy {record.policy.name} v{record.policy.version})")  # fmt: skip
    if record.resolution:
        print(f"  resolution: {record.resolution.summary}")
        if record.resolution.root_cause:
            print(f"  root cause: {record.resolution.root_cause}")
    print(f"  acknowledged by {record.acknowledged_by or '-'} at tier {record.acknowledged_tier or '-'}")
    print(f"  time to acknowledge: {_seconds(record.time_to_acknowledge_seconds)}, "
          f"time to resolve: {_seconds(record.time_to_resolve_seconds)}")  # fmt: skip


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"


async def _check(args: argparse.Namespace, settings: Settings) -> None:
    config = load_config(settings.config_dir)
    print(f"{settings.config_dir}: {len(config.roster.responders)} responders, "
          f"policies {', '.join(sorted(config.policies))}, default {config.routing.default}")  # fmt: skip


def _up(args: argparse.Namespace, settings: Settings) -> int:
    load_config(settings.config_dir)  # nothing starts on an invalid configuration
    if os.environ.get("TEMPORAL_ADDRESS"):
        return run_worker_only(dict(os.environ))
    return run_embedded(Embedded(data_dir=args.data_dir or settings.data_dir, port=args.port,
                                 ui_port=args.ui_port))  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="escalate", description="Durable incident escalation on Temporal.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run the embedded Temporal dev server and a worker")
    up.add_argument("--data-dir", type=Path, help="where server state and records live (default .escalation)")
    up.add_argument("--port", type=int, default=7233, help="Temporal gRPC port (default 7233)")
    up.add_argument("--ui-port", type=int, default=8233, help="Web UI port (default 8233)")

    trigger = commands.add_parser("trigger", help="open an escalation for an incident")
    trigger.add_argument("--service", help="the affected service (routes the incident to a policy)")
    trigger.add_argument("--severity", type=_severity, help="SEV1 (most urgent) to SEV4")
    trigger.add_argument("--title", help="one line saying what is wrong")
    trigger.add_argument("--summary", help="a few sentences of context")
    trigger.add_argument("--dedup-key", help="identifies the incident; default: a new random key")
    trigger.add_argument("--policy", help="use this policy instead of the routing table's choice")
    trigger.add_argument("--file", help="YAML file with the incident and its report (flags override it)")
    trigger.add_argument("--json", action="store_true", help="print the result as JSON")
    trigger.set_defaults(run=_trigger)

    ack = commands.add_parser("ack", help="acknowledge an incident: stop the ladder, you own it")
    ack.add_argument("incident_id")
    ack.add_argument("--as", dest="responder", required=True, help="your responder id from the roster")
    ack.add_argument("--note", help="what you are doing about it")
    ack.set_defaults(run=_ack)

    resolve = commands.add_parser("resolve", help="resolve an incident and write its close-out record")
    resolve.add_argument("incident_id")
    resolve.add_argument("--as", dest="responder", required=True, help="your responder id from the roster")
    resolve.add_argument("--summary", required=True, help="what fixed it")
    resolve.add_argument("--root-cause", help="why it happened")
    resolve.set_defaults(run=_resolve)

    status = commands.add_parser("status", help="show an incident's state and timeline")
    status.add_argument("incident_id")
    status.add_argument("--json", action="store_true", help="print the whole state as JSON")
    status.set_defaults(run=_status)

    record = commands.add_parser("record", help="show the close-out record of a finished incident")
    record.add_argument("incident_id")
    record.add_argument("--json", action="store_true", help="print the record as JSON")
    record.set_defaults(run=_record)

    check = commands.add_parser("check", help="validate the configuration directory")
    check.set_defaults(run=_check)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"escalate: {message}", file=sys.stderr)
    return code


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "up":
            return _up(args, settings)
        command: Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, None]] = args.run
        asyncio.run(command(args, settings))
    except ConfigError as error:
        return _fail(str(error), BAD_INPUT)
    except BadInput as error:
        return _fail(str(error), BAD_INPUT)
    except (EscalationError, ConnectionProblem, EmbeddedProblem) as error:
        return _fail(str(error), FAILED)
    except RPCError as error:
        return _fail(f"Temporal refused the request: {error.message}", FAILED)
    except KeyboardInterrupt:
        return 130
    return 0


def main() -> None:
    configure_logging()
    code = run()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the Temporal client's native threads can abort a finalizing
    # interpreter ("PyGILState_Release ... finalizing"), turning a success into exit code -6.
    os._exit(code)
