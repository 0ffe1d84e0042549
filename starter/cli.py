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
from typing import Any, TextIO

from pydantic import BaseModel, TypeAdapter, ValidationError
from temporalio.service import RPCError

from escalation.config import CHANNELS_FILE, Config, ConfigError, describe, load_config, read_yaml
from escalation.connection import ConnectionProblem
from escalation.logs import configure_logging
from escalation.models import Identifier, Incident, Severity
from escalation.records import RecordStore
from escalation.reports import timeline_text
from escalation.settings import Settings
from escalation.state import Status
from escalation.text import for_terminal
from starter.api import EscalationError, Escalations, new_dedup_key
from starter.embedded import (
    DEFAULT_PORT,
    DEFAULT_UI_PORT,
    Embedded,
    EmbeddedProblem,
    run_embedded,
    run_worker_only,
)
from starter.inbox import Inbox, serve
from starter.inbox import describe as describe_page

BAD_INPUT = 2
FAILED = 1


class BadInput(Exception):
    """Input the user can fix; printed as is, exit code 2."""


def _say(text: str, *, file: TextIO | None = None) -> None:
    """Print for a terminal (stdout unless ``file``): text cannot send escape sequences; line breaks stay."""
    print(for_terminal(text, multiline=True), file=file)


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


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; use a number from 1 to 65535")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _service(text: str) -> str:
    try:
        return TypeAdapter(Identifier).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a service id; use lower-case letters, digits, '.', '_' or '-'"
        ) from None


def _words(text: str) -> str:
    """A reason, summary or note: refused here when blank, so it never reaches the server."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be blank; say what happened or why")
    return text


def _status_filter(text: str) -> Status:
    try:
        return Status(text.lower())
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise argparse.ArgumentTypeError(f"{text!r} is not a status; use one of: {names}") from None


def _incident(args: argparse.Namespace) -> Incident:
    """Merge ``--file`` with the flags (flags win) and validate it as an incident."""
    data: dict[str, Any] = {}
    if args.file:
        try:
            loaded = read_yaml(Path(args.file))
        except ConfigError as error:
            raise BadInput(f"--file {error.problems[0]}") from None
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
        missing = [str(e["loc"][0]) for e in error.errors() if e["type"] == "missing"]
        if missing:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in missing)
            raise BadInput(f"missing {flags}: give it as a flag or in the --file incident") from None
        raise BadInput("; ".join(describe(error, Incident, args.file or "incident"))) from None


async def _trigger(args: argparse.Namespace, settings: Settings) -> None:
    incident = _incident(args)
    config = load_config(settings.config_dir, with_channels=False)
    config.policy_for(
        incident.service, incident.severity, args.policy
    )  # bad --policy: fail before connecting
    escalations = await Escalations.connect(settings, config)
    opened = await escalations.trigger(incident, policy=args.policy)
    if args.json:
        _print_json(opened)
    elif opened.deduplicated:
        _say(f"already open: {opened.incident_id} (occurrence {opened.occurrences}; nobody paged again)\n"
              f"  Web UI: {opened.ui_url}")  # fmt: skip
    else:
        _say(f"opened {opened.incident_id}\n  Web UI: {opened.ui_url}")


async def _ack(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.acknowledge(args.incident_id, args.responder, args.note or "")
    _say(f"{view.incident_id} acknowledged by {view.acknowledged_by} (tier {view.tier_name})")


async def _resolve(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.resolve(args.incident_id, args.responder, args.summary, args.root_cause or "")
    _say(f"{view.incident_id} resolved by {view.resolved_by}; the close-out record is being written")


async def _escalate(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.escalate(args.incident_id, args.responder, args.reason)
    _say(f"{view.incident_id} handed to tier {view.tier_name}; paging {', '.join(view.paging)}")


async def _note(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.note(args.incident_id, args.responder, args.text)
    _say(f"{view.incident_id}: note added by {args.responder}")


async def _severity_change(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.change_severity(args.incident_id, args.responder, args.severity, args.reason)
    _say(f"{view.incident_id} is now {view.severity.value} (tier {view.tier_name})")


async def _reassign(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.reassign(args.incident_id, args.responder, args.to)
    _say(f"{view.incident_id} now held by {view.acknowledged_by}")


async def _cancel(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.cancel(args.incident_id, args.responder, args.reason)
    _say(f"{view.incident_id} cancelled by {view.resolved_by}; the close-out record is being written")


def _age(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if days else f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


async def _list(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    found = await escalations.list(args.status, args.severity, args.service, args.limit)
    if args.json:
        print(json.dumps([item.model_dump(mode="json") for item in found], indent=2))
        return
    if not found:
        _say("no escalations match")
        return
    rows = [("INCIDENT", "SEV", "SERVICE", "STATUS", "TIER", "ACK BY", "AGE")] + [
        (i.incident_id, i.severity or "-", i.service or "-", i.status or "-", str(i.tier or "-"),
         i.acknowledged_by or "-", _age(i.age_seconds))
        for i in found
    ]  # fmt: skip
    rows = [tuple(for_terminal(cell) for cell in row) for row in rows]
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        _say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


async def _status(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await Escalations.connect(settings)
    view = await escalations.status(args.incident_id)
    if args.json:
        _print_json(view)
    else:
        _say(timeline_text(view))


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
    _say(f"{record.incident_id}: {record.outcome.value} by {record.resolved_by} "
          f"(policy {record.policy.name} v{record.policy.version})")  # fmt: skip
    if record.resolution:
        _say(f"  resolution: {record.resolution.summary}")
        if record.resolution.root_cause:
            _say(f"  root cause: {record.resolution.root_cause}")
    _say(f"  acknowledged by {record.acknowledged_by or '-'} at tier {record.acknowledged_tier or '-'}")
    _say(f"  last held by {record.last_held_by or '-'} at tier {record.last_held_tier or '-'}")
    _say(f"  time to acknowledge: {_seconds(record.time_to_acknowledge_seconds)}, "
          f"time to resolve: {_seconds(record.time_to_resolve_seconds)}")  # fmt: skip


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"


def _load_for_worker(settings: Settings) -> Config:
    """The configuration, and the channel secrets a worker started from here would need."""
    config = load_config(settings.config_dir)
    if missing := config.channels.missing_secrets(os.environ, str(settings.config_dir / CHANNELS_FILE)):
        raise ConfigError(missing)
    return config


async def _check(args: argparse.Namespace, settings: Settings) -> None:
    config = load_config(settings.config_dir) if args.skip_secrets else _load_for_worker(settings)
    _say(f"{settings.config_dir}: {len(config.roster.responders)} responders, "
          f"policies {', '.join(sorted(config.policies))}, default {config.routing.default}")  # fmt: skip


async def _inbox(args: argparse.Namespace, settings: Settings) -> None:
    config = _load_for_worker(settings)
    secrets = {name: os.environ[e.secret_env] for name, e in config.channels.webhooks.items()}
    try:
        await serve(Inbox(secrets, on_page=lambda page: print(describe_page(page), flush=True)),
                    smtp_port=args.smtp_port, http_port=args.http_port)  # fmt: skip
    except OSError as error:
        raise BadInput(
            f"inbox: cannot listen ({error.strerror}); pick free ports with --smtp-port/--http-port"
        ) from None


def _up(args: argparse.Namespace, settings: Settings) -> int:
    _load_for_worker(settings)  # nothing starts on an invalid configuration
    if os.environ.get("TEMPORAL_ADDRESS"):
        return run_worker_only(dict(os.environ))
    return run_embedded(Embedded(data_dir=args.data_dir or settings.data_dir, port=args.port,
                                 ui_port=args.ui_port))  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="escalate", description="Durable incident escalation on Temporal.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run the embedded Temporal dev server and a worker")
    up.add_argument("--data-dir", type=Path, help="where server state and records live (default .escalation)")
    up.add_argument("--port", type=_port, default=DEFAULT_PORT, help="Temporal gRPC port (default 7233)")
    up.add_argument("--ui-port", type=_port, default=DEFAULT_UI_PORT, help="Web UI port (default 8233)")

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
    resolve.add_argument("--summary", required=True, type=_words, help="what fixed it")
    resolve.add_argument("--root-cause", help="why it happened")
    resolve.set_defaults(run=_resolve)

    escalate = commands.add_parser("escalate", help="hand the incident to the next tier now")
    escalate.add_argument("incident_id")
    escalate.add_argument("--as", dest="responder", required=True, help="your responder id from the roster")
    escalate.add_argument("--reason", required=True, type=_words, help="why it needs the next tier")
    escalate.set_defaults(run=_escalate)

    note = commands.add_parser("note", help="add a progress note: what was tried, what is known")
    note.add_argument("incident_id")
    note.add_argument("text", type=_words)
    note.add_argument("--as", dest="responder", required=True, help="your responder id from the roster")
    note.set_defaults(run=_note)

    severity = commands.add_parser("severity", help="raise or lower the severity")
    severity.add_argument("incident_id")
    severity.add_argument("severity", type=_severity, help="the new severity, SEV1 to SEV4")
    severity.add_argument("--as", dest="responder", required=True, help="your responder id from the roster")
    severity.add_argument("--reason", required=True, type=_words, help="why the severity changes")
    severity.set_defaults(run=_severity_change)

    reassign = commands.add_parser("reassign", help="hand your acknowledgement to another responder")
    reassign.add_argument("incident_id")
    reassign.add_argument("--as", dest="responder", required=True, help="your responder id from the roster")
    reassign.add_argument("--to", required=True, help="the responder who takes it over")
    reassign.set_defaults(run=_reassign)

    cancel = commands.add_parser("cancel", help="close a false alarm")
    cancel.add_argument("incident_id")
    cancel.add_argument("--as", dest="responder", required=True, help="your responder id from the roster")
    cancel.add_argument("--reason", required=True, type=_words, help="why it is a false alarm")
    cancel.set_defaults(run=_cancel)

    listing = commands.add_parser("list", help="list open escalations, or those matching filters")
    listing.add_argument(
        "--status", type=_status_filter, help="triggered, acknowledged, exhausted, resolved, cancelled"
    )
    listing.add_argument("--severity", type=_severity, help="SEV1 to SEV4")
    listing.add_argument("--service", type=_service, help="only this service")
    listing.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    listing.set_defaults(run=_list)

    status = commands.add_parser("status", help="show an incident's state and timeline")
    status.add_argument("incident_id")
    status.add_argument("--json", action="store_true", help="print the whole state as JSON")
    status.set_defaults(run=_status)

    record = commands.add_parser("record", help="show the close-out record of a finished incident")
    record.add_argument("incident_id")
    record.add_argument("--json", action="store_true", help="print the record as JSON")
    record.set_defaults(run=_record)

    check = commands.add_parser("check", help="validate the configuration directory")
    check.add_argument(
        "--skip-secrets", action="store_true", help="do not require the channels' secrets here (e.g. in CI)"
    )
    check.set_defaults(run=_check)

    inbox = commands.add_parser("inbox", help="catch e-mail and webhook pages locally, to try channels")
    inbox.add_argument("--smtp-port", type=_port, default=1025, help="SMTP port (default 1025)")
    inbox.add_argument("--http-port", type=_port, default=8787, help="webhook port (default 8787)")
    inbox.set_defaults(run=_inbox)
    return parser


def _fail(message: str, code: int) -> int:
    _say(f"escalate: {message}", file=sys.stderr)
    return code


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
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
