"""``escalate``: open, answer and inspect escalations from a terminal.

Every failure is one line on stderr and a non-zero exit code: 2 for bad input (arguments,
configuration, incident files), 1 for refusals and problems reaching Temporal.
Heavy libraries (SQLAlchemy, PyJWT, the web server, the test server of drills) are imported by
the commands that use them, so the commands of a 3 a.m. page start quickly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

from escalation import ladder
from escalation.actions import ACTIONS, Action
from escalation.config import CHANNELS_FILE, Config, ConfigError, load_config, read_yaml, validation_problems
from escalation.durations import parse_duration
from escalation.integrations import INTEGRATIONS_FILE
from escalation.models import Incident, Severity, service_id
from escalation.reports import timeline_text
from escalation.reviews import ReviewSubmissionRequest
from escalation.settings import SECRET_ENV, Settings
from escalation.state import Status
from escalation.text import for_terminal
from starter import review_cli
from starter.api import EscalationError, Escalations, new_dedup_key
from starter.api_client import TOKEN_ENV, ApiClient, ApiInputError, api_configured
from starter.connection import TemporalConnectionError
from starter.database import add_db_command
from starter.drill_cli import add_drill_command
from starter.embedded import (
    DEFAULT_API_PORT,
    DEFAULT_PORT,
    DEFAULT_UI_PORT,
    Embedded,
    EmbeddedServerError,
    MetricsPorts,
    run_embedded,
    run_worker_only,
)
from starter.errors import BadInputError
from starter.local_secrets import Kind, generated_names, use_local_secrets, webhook_secret_names
from starter.logs import configure_logging
from starter.oncall import add_oncall_command, coverage_warnings
from starter.report import add_report_command
from starter.similar import add_command as add_similar_command

BAD_INPUT = 2
FAILED = 1


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


def _port_or_off(text: str) -> int:
    return 0 if text == "0" else _port(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _service(text: str) -> str:
    try:
        return service_id(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _words(text: str) -> str:
    """A required text (reason, summary, note, responder): refused here when blank, before any request."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be blank; write it out")
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
            raise BadInputError(f"--file {error.problems[0]}") from None
        if not isinstance(loaded, dict):
            raise BadInputError(f"{args.file}: expected a mapping of incident fields (title, service, ...)")
        data.update(loaded)
    flags = {
        "service": args.service,
        "severity": args.severity,
        "title": args.title,
        "dedup_key": args.dedup_key,
        "summary": args.summary,
    }
    data.update({key: value for key, value in flags.items() if value is not None})
    data.setdefault("dedup_key", new_dedup_key())
    try:
        return Incident.model_validate(data)
    except ValidationError as error:
        missing = [str(e["loc"][0]) for e in error.errors() if e["type"] == "missing"]
        if missing:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in missing)
            raise BadInputError(f"missing {flags}: give it as a flag or in the --file incident") from None
        problems = validation_problems(error, Incident, args.file or "incident")
        raise BadInputError("; ".join(problems)) from None


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
        _say(
            f"already open: {opened.incident_id} (occurrence {opened.occurrences}; nobody paged again)\n"
            f"  Web UI: {opened.ui_url}"
        )
    else:
        _say(f"opened {opened.incident_id}\n  Web UI: {opened.ui_url}")


def _api_client() -> ApiClient | None:
    """The HTTP API when ESCALATION_API_URL and ESCALATION_TOKEN are set (a responder's path)."""
    return ApiClient.from_env(os.environ) if api_configured(os.environ) else None


async def _responder_side(settings: Settings) -> Escalations | ApiClient:
    """The HTTP API if configured, else Temporal directly (the operators' path)."""
    return _api_client() or await Escalations.connect(settings)


def _acting_as(api: ApiClient, responder: str | None) -> str:
    """Over the API the token says who acts: ``--as`` may only repeat it."""
    if responder is not None and responder != api.responder:
        raise BadInputError(
            f"--as {responder} does not match {TOKEN_ENV}, which is {api.responder}'s token; "
            f"omit --as, or use {responder}'s own token"
        )
    return api.responder


def _act(action: Action) -> Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, None]]:
    """The command that sends ``action`` with the fields parsed from its flags."""

    async def act(args: argparse.Namespace, settings: Settings) -> None:
        api = _api_client()
        if api is not None:
            args.responder = _acting_as(api, args.responder)
        fields = {name: getattr(args, name) for name in ("responder", *action.inputs)}
        request = action.request.model_validate({k: v for k, v in fields.items() if v is not None})
        side = api or await Escalations.connect(settings)
        _say(action.outcome(await side.act(args.incident_id, action, request), request))

    return act


async def _review(args: argparse.Namespace, settings: Settings) -> None:
    api = _api_client()
    if api is not None:
        args.responder = _acting_as(api, args.responder)
    try:
        request = ReviewSubmissionRequest(responder=args.responder, submission=review_cli.submission(args))
    except ValueError as error:
        raise BadInputError(str(error)) from None
    side = api or await Escalations.connect(settings)
    _say(review_cli.outcome(args.incident_id, await side.submit_review(args.incident_id, request)))


def _age(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if days else f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


async def _list(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await _responder_side(settings)
    found = await escalations.list(args.status, args.severity, args.service, args.limit)
    if args.json:
        print(json.dumps([item.model_dump(mode="json") for item in found], indent=2))
        return
    if not found:
        _say("no escalations match")
        return
    rows = [("INCIDENT", "SEV", "SERVICE", "STATUS", "TIER", "ACK BY", "AGE")] + [
        (
            i.incident_id,
            i.severity or "-",
            i.service or "-",
            i.status or "-",
            str(i.tier or "-"),
            i.acknowledged_by or "-",
            _age(i.age_seconds),
        )
        for i in found
    ]
    rows = [tuple(for_terminal(cell) for cell in row) for row in rows]
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        _say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


async def _status(args: argparse.Namespace, settings: Settings) -> None:
    escalations = await _responder_side(settings)
    view = await escalations.status(args.incident_id)
    if args.json:
        _print_json(view)
    else:
        _say(timeline_text(view))


async def _record(args: argparse.Namespace, settings: Settings) -> None:
    from activities.store import RecordStore  # imported on use (see the module docstring)

    store = RecordStore.from_settings(settings)
    record = store.latest(args.incident_id)
    if record is None:
        raise EscalationError(
            f"no close-out record for {args.incident_id} in {store.location}; "
            "records are written when an incident is resolved"
        )
    if args.json:
        _print_json(record)
        return
    _say(
        f"{record.incident_id}: {record.outcome.value} by {record.resolved_by} "
        f"(policy {record.policy.name} v{record.policy.version})"
    )
    if record.resolution:
        _say(f"  resolution: {record.resolution.summary}")
        if record.resolution.root_cause:
            _say(f"  root cause: {record.resolution.root_cause}")
    _say(f"  acknowledged by {record.acknowledged_by or '-'} at tier {record.acknowledged_tier or '-'}")
    _say(f"  last held by {record.last_held_by or '-'} at tier {record.last_held_tier or '-'}")
    _say(
        f"  time to acknowledge: {_seconds(record.time_to_acknowledge_seconds)}, "
        f"time to resolve: {_seconds(record.time_to_resolve_seconds)}"
    )
    if record.review:
        _say(f"  review: {review_cli.summary(record.review)}")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"


def _embedded_default() -> bool:
    """No Temporal server is named: this machine runs the embedded one, with local secrets."""
    return not os.environ.get("TEMPORAL_ADDRESS")


def _load_for_worker(
    settings: Settings,
    names: Callable[[Config], Mapping[str, Kind]] = webhook_secret_names,
    data_dir: Path | None = None,
) -> Config:
    """The configuration, and the channel secrets a worker started from here would need; the
    ``names`` missing here are read from the data directory, made up there once for the
    embedded default."""
    from activities.pages import load_worker_config  # imported on use (see the module docstring)

    config = load_worker_config(settings.config_dir)
    use_local_secrets(data_dir or settings.data_dir, names(config), os.environ, generate=_embedded_default())
    if problems := config.channels.secret_problems(os.environ, str(settings.config_dir / CHANNELS_FILE)):
        raise ConfigError(problems)
    return config


def _missing_integration_keys(config: Config, settings: Settings) -> list[str]:
    return config.integrations.missing_secrets(os.environ, str(settings.config_dir / INTEGRATIONS_FILE))


async def _check(args: argparse.Namespace, settings: Settings) -> None:
    """Everything a worker and 'escalate serve' started here would need, secrets included."""
    from activities.pages import load_worker_config

    config = load_worker_config(settings.config_dir)
    if not args.skip_secrets:
        channels = str(settings.config_dir / CHANNELS_FILE)
        problems = config.channels.secret_problems(os.environ, channels)
        if problems := problems + _missing_integration_keys(config, settings):
            raise ConfigError(problems)
    _say(
        f"{settings.config_dir}: {len(config.roster.responders)} responders, "
        f"policies {', '.join(sorted(config.policies))}, default {config.routing.default}"
    )
    for name in sorted(config.policies):
        _say(ladder.worst_case_summary(config.policies[name]))
    for line in coverage_warnings(config, datetime.now(UTC)):
        _say(line, file=sys.stderr)


async def _inbox(args: argparse.Namespace, settings: Settings) -> None:
    from starter.inbox import Inbox, page_line, run_inbox  # the mail catcher's servers load only here

    config = _load_for_worker(settings)
    secrets = {name: os.environ[e.secret_env] for name, e in config.channels.webhooks.items()}
    try:
        await run_inbox(
            Inbox(secrets, on_page=lambda page: print(page_line(page), flush=True)),
            smtp_port=args.smtp_port,
            http_port=args.http_port,
        )
    except OSError as error:
        raise BadInputError(
            f"inbox: cannot listen ({error.strerror}); pick free ports with --smtp-port/--http-port"
        ) from None


def _up(args: argparse.Namespace, settings: Settings) -> int:
    """Nothing starts on an invalid configuration or without the secrets the API checks requests
    against (made up locally for the embedded default)."""
    data_dir = args.data_dir or settings.data_dir
    config = _load_for_worker(settings, generated_names, data_dir)
    if missing := _missing_integration_keys(config, settings):
        raise ConfigError(missing)
    _api_secret()
    metrics = MetricsPorts.chosen(args.metrics_port, args.sdk_metrics_port, settings)
    if not _embedded_default():
        return run_worker_only(dict(os.environ), args.api_port, metrics)
    demo = next(iter(config.integrations.integrations.values()), None)
    return run_embedded(
        Embedded(
            data_dir=data_dir, port=args.port, ui_port=args.ui_port, api_port=args.api_port, metrics=metrics
        ),
        demo_key=os.environ[demo.key_env] if demo else None,
    )


def _ttl(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _api_secret() -> str:
    from starter.web.tokens import secret_problem  # imported on use (see the module docstring)

    secret = os.environ.get(SECRET_ENV)
    if problem := secret_problem(secret):
        raise BadInputError(problem)
    return secret or ""


async def _token(args: argparse.Namespace, settings: Settings) -> None:
    """Only the token goes to stdout, so it can be captured: TOKEN=$(escalate token --as ana)."""
    config = load_config(settings.config_dir, with_channels=False)
    use_local_secrets(settings.data_dir, {SECRET_ENV: Kind.TOKEN}, os.environ, generate=_embedded_default())
    roster = config.roster
    if args.responder not in roster.responders:
        known = ", ".join(sorted(roster.responders))
        raise BadInputError(f"--as: {args.responder!r} is not in the roster; use one of: {known}")
    from starter.web import tokens

    print(tokens.issue(args.responder, args.ttl, _api_secret()))


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """Nothing listens on an invalid configuration or without the keys it checks requests against."""
    import uvicorn  # the web server loads only for ``serve``: every other command starts faster

    from starter.web.app import create_app

    config = load_config(settings.config_dir, with_channels=False)
    if missing := _missing_integration_keys(config, settings):
        raise ConfigError(missing)
    _api_secret()

    async def connected() -> Escalations:
        return await Escalations.connect(settings, config, wait=True)

    uvicorn.run(create_app(settings, connected), host=args.host, port=args.port, log_config=None)
    return 0


def _add_action(commands: argparse._SubParsersAction, action: Action, over_api: bool) -> None:
    """A subcommand for ``action``: the incident id, ``--as`` (optional ``over_api``: the token
    names the responder), and one argument per request field."""
    parser = commands.add_parser(action.command, help=action.help)
    parser.add_argument("incident_id")
    for name, info in action.inputs.items():
        kind = _severity if info.annotation is Severity else _words if info.is_required() else str
        if name in action.positional:
            parser.add_argument(name, type=kind, help=info.description)
        else:
            flag = f"--{name.replace('_', '-')}"
            parser.add_argument(
                flag, dest=name, type=kind, required=info.is_required(), help=info.description
            )
    parser.add_argument(
        "--as",
        dest="responder",
        required=not over_api,
        help="your responder id from the roster" + (" (default: the token's)" if over_api else ""),
    )
    parser.set_defaults(run=_act(action))


def build_parser(over_api: bool = False) -> argparse.ArgumentParser:
    """``over_api``: the responder commands go through the HTTP API (see ``starter.api_client``)."""
    parser = argparse.ArgumentParser(prog="escalate", description="Durable incident escalation on Temporal.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run the embedded Temporal dev server, a worker and the HTTP API")
    up.add_argument("--data-dir", type=Path, help="where server state and records live (default .escalation)")
    up.add_argument("--port", type=_port, default=DEFAULT_PORT, help="Temporal gRPC port (default 7233)")
    up.add_argument("--ui-port", type=_port, default=DEFAULT_UI_PORT, help="Web UI port (default 8233)")
    up.add_argument("--api-port", type=_port, default=DEFAULT_API_PORT, help="HTTP API port (default 8080)")
    up.add_argument(
        "--metrics-port",
        type=_port_or_off,
        help="the worker's Prometheus metrics port (default 9464; 0: off)",
    )
    up.add_argument(
        "--sdk-metrics-port", type=_port_or_off, help="the Temporal SDK's metrics port (default 9465; 0: off)"
    )

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

    for action in ACTIONS:
        _add_action(commands, action, over_api)

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

    review_cli.add_review_parser(commands, over_api).set_defaults(run=_review)

    record = commands.add_parser("record", help="show the close-out record of a finished incident")
    record.add_argument("incident_id")
    record.add_argument("--json", action="store_true", help="print the record as JSON")
    record.set_defaults(run=_record)
    add_similar_command(commands)

    add_db_command(commands)

    add_report_command(commands)

    add_oncall_command(commands)

    add_drill_command(commands)

    check = commands.add_parser("check", help="validate the configuration directory")
    check.add_argument(
        "--skip-secrets", action="store_true", help="do not require the channels' secrets here (e.g. in CI)"
    )
    check.set_defaults(run=_check)

    serve = commands.add_parser("serve", help="run the HTTP API: ingest for monitoring tools, responder API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="port to listen on (default 8080)")

    token = commands.add_parser(
        "token", help="print an API token for a responder (signed with ESCALATION_API_SECRET)"
    )
    token.add_argument("--as", dest="responder", required=True, help="the responder id from the roster")
    token.add_argument(
        "--ttl", type=_ttl, default=timedelta(days=90), help="how long it is valid (default 90d)"
    )
    token.set_defaults(run=_token)

    inbox = commands.add_parser("inbox", help="catch e-mail and webhook pages locally, to try channels")
    inbox.add_argument("--smtp-port", type=_port, default=1025, help="SMTP port (default 1025)")
    inbox.add_argument("--http-port", type=_port, default=8787, help="webhook port (default 8787)")
    inbox.set_defaults(run=_inbox)
    return parser


def _fail(message: str, code: int) -> int:
    _say(f"escalate: {message}", file=sys.stderr)
    return code


def run(argv: list[str] | None = None) -> int:
    args = build_parser(api_configured(os.environ)).parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "up":
            return _up(args, settings)
        if args.command == "serve":
            return _serve(args, settings)
        command: Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, None]] = args.run
        asyncio.run(command(args, settings))
    except ConfigError as error:
        return _fail(str(error), BAD_INPUT)
    except (BadInputError, ApiInputError) as error:
        return _fail(str(error), BAD_INPUT)
    except (EscalationError, TemporalConnectionError, EmbeddedServerError) as error:
        return _fail(str(error), FAILED)
    except RPCError as error:
        return _fail(f"Temporal refused the request: {error.message}", FAILED)
    except KeyboardInterrupt:
        return 130
    return 0


def main_serve() -> None:
    """``python -m starter.web``: the same as ``escalate serve``."""
    configure_logging()
    sys.exit(run(["serve", *sys.argv[1:]]))


def main() -> None:
    configure_logging()
    code = run()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the Temporal client's native threads can abort a finalizing
    # interpreter ("PyGILState_Release ... finalizing"), turning a success into exit code -6.
    os._exit(code)
