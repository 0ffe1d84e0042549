"""Loading and checking the configuration directory: roster, policies, routing and schedules.

Every problem is reported at once, each naming the file, the field path and the fix, so an
SRE lead editing policies fixes them in one pass. Nothing starts on invalid configuration.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from escalation.channel_settings import ENV_NAME_PATTERN, ChannelSettings
from escalation.integrations import INTEGRATIONS_FILE, Integrations
from escalation.models import (
    IDENTIFIER_PATTERN,
    PATTERN_HINTS,
    TARGET_PATTERN,
    EscalationPolicy,
    Roster,
    Routing,
    Severity,
    Tier,
    schedule_name,
)
from escalation.schedules import Schedule

ROSTER_FILE = "roster.yaml"
ROUTING_FILE = "routing.yaml"
CHANNELS_FILE = "channels.yaml"
POLICY_DIR = "policies"
SCHEDULE_DIR = "schedules"
MAX_YAML_BYTES = 1024 * 1024
"""Configuration and incident files are small; a bigger one is a mistake (or /dev/zero)."""


class ConfigError(Exception):
    """Invalid configuration; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Config:
    directory: Path
    roster: Roster
    policies: dict[str, EscalationPolicy]
    routing: Routing
    channels: ChannelSettings
    integrations: Integrations = field(default_factory=Integrations)
    schedules: dict[str, Schedule] = field(default_factory=dict)

    def policy_for(self, service: str, severity: Severity, override: str | None = None) -> EscalationPolicy:
        """The policy an incident runs under: an explicit choice, else the routing table's."""
        name = override or self.routing.policy_for(service, severity)
        if name not in self.policies:
            raise ConfigError(
                [f"policy {name!r} does not exist; use one of: {', '.join(sorted(self.policies))}"]
            )
        return self.policies[name]


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; for a policy that hides a mistake."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[object, object]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` is resolved by PyYAML itself
            continue
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):  # `? [a]`: a list or mapping used as a key
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice; keep one", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> object:
    """Parse one YAML file; syntax errors become a ConfigError with the line number."""
    try:
        return yaml.load(_read_capped(path).decode("utf-8"), Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError([f"{path}: file is missing; create it (see docs/configuration.md)"]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigError([f"{path}: cannot be read ({reason}); point to a UTF-8 YAML file"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{path}: {where}{problem}; fix the YAML syntax"]) from None


def _read_capped(path: Path) -> bytes:
    """The file's bytes, reading no more than the cap allows, so a huge file cannot exhaust memory."""
    with path.open("rb") as file:
        data = file.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        limit = f"{MAX_YAML_BYTES // 1024 // 1024} MiB"
        raise ConfigError([f"{path}: is larger than the {limit} limit; point to a smaller YAML file"])
    return data


def field_path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for an invalid mapping key: the key is already named
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (list, dict, types.UnionType, typing.Union):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys a model accepts at a location, to suggest the right spelling of a typo."""
    current = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        nested = [
            m for c in current if part in c.model_fields for m in _models_in(c.model_fields[part].annotation)
        ]
        if nested:
            current = nested
        else:  # a dict key such as a responder id: the models stay the dict's values
            continue
    return sorted({key for c in current for key in c.model_fields})


_PATTERN_HINTS = {
    **PATTERN_HINTS,
    ENV_NAME_PATTERN: "name an environment variable: letters, digits, '_' (e.g. 'ESCALATION_SMTP_PASSWORD')",
}
_FRIENDLY = {
    "missing": "is required; add it",
    "too_short": "must not be empty; add at least one entry",
}


def validation_problems(error: ValidationError, model: type[BaseModel], source: str) -> list[str]:
    """Turn pydantic's errors into 'file: field.path: problem; fix' lines."""
    lines = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
            lines.append(f"{source}: {field_path(loc)}: unknown key; {hint}")
            continue
        pattern = (item.get("ctx") or {}).get("pattern")
        message = (
            _PATTERN_HINTS.get(pattern)
            or _FRIENDLY.get(item["type"])
            or item["msg"].removeprefix("Value error, ")
        )
        lines.append(f"{source}: {field_path(loc)}: {message}" if loc else f"{source}: {message}")
    return lines


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: object, source: str, problems: list[str]) -> M | None:
    if not isinstance(data, dict):
        problems.append(f"{source}: expected a mapping of keys at the top level; see docs/configuration.md")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems.extend(validation_problems(error, model, source))
        return None


def _load_file(path: Path, model: type[M], problems: list[str]) -> M | None:
    try:
        data = read_yaml(path)
    except ConfigError as error:
        problems.extend(error.problems)
        return None
    return _parse(model, data, str(path), problems)


N = TypeVar("N", EscalationPolicy, Schedule)


@dataclass
class _NamedFiles(typing.Generic[N]):
    """Every valid policy (or schedule) by name with its file; the names of all files found; raw data.

    A route to a policy whose file is invalid is not reported again as a missing policy, and
    the raw data lets roster checks run on files that have other errors too.
    """

    valid: dict[str, tuple[N, Path]]
    found: set[str]
    raw: list[tuple[Path, object]]


def _load_named(directory: Path, model: type[N], kind: str, problems: list[str]) -> _NamedFiles[N]:
    """The ``*.yaml`` files of a folder, one ``model`` each, named by their file unless they say."""
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    loaded: dict[str, tuple[N, Path]] = {}
    found: set[str] = set()
    raw: list[tuple[Path, object]] = []
    for path in files:
        found.add(path.stem)
        try:
            data = read_yaml(path)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        raw.append((path, data))
        if isinstance(data, dict):
            data.setdefault("name", path.stem)
            found.add(str(data["name"]))
        item = _parse(model, data, str(path), problems)
        if item is None:
            continue
        if item.name in loaded:
            problems.append(
                f"{path}: name: {kind} {item.name!r} is also defined in "
                f"{loaded[item.name][1]}; give each {kind} a unique name"
            )
            continue
        loaded[item.name] = (item, path)
    return _NamedFiles(loaded, found, raw)


def _load_policies(directory: Path, problems: list[str]) -> _NamedFiles[EscalationPolicy]:
    policy_dir = directory / POLICY_DIR
    files = _load_named(policy_dir, EscalationPolicy, "policy", problems)
    if not files.found:
        problems.append(f"{policy_dir}: no policy files (*.yaml); add at least one policy")
    return files


def _listed(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _check_targets(
    raw_policies: list[tuple[Path, object]], roster: Roster, schedules: set[str], problems: list[str]
) -> None:
    """Every primary and backup is in the roster, or a ``schedule:<name>`` of ``schedules``; read
    from the raw files, so a policy with other mistakes hears about unknown targets in the same pass."""
    for path, data in raw_policies:
        tiers = data.get("tiers") if isinstance(data, dict) else None
        for t, tier in enumerate(_listed(tiers)):
            for role in ("primary", "backup"):
                targets = tier.get(role) if isinstance(tier, dict) else None
                for i, target in enumerate(_listed(targets)):
                    if not isinstance(target, str) or not re.fullmatch(TARGET_PATTERN, target.strip()):
                        continue  # the policy's own validation reports a malformed target
                    where = f"{path}: tiers[{t}].{role}[{i}]"
                    name = schedule_name(target.strip())
                    if name is not None and name not in schedules:
                        known = ", ".join(sorted(schedules)) or "none yet"
                        problems.append(
                            f"{where}: {target!r} names no schedule in {SCHEDULE_DIR}/ (found: {known}); "
                            f"add {SCHEDULE_DIR}/{name}.yaml or fix the name"
                        )
                    elif name is None and target.strip() not in roster.responders:
                        problems.append(
                            f"{where}: {target!r} is not in {ROSTER_FILE}; "
                            "add them under responders or fix the id"
                        )


def _check_schedule_people(
    raw_schedules: list[tuple[Path, object]], roster: Roster, problems: list[str]
) -> None:
    """Everyone a schedule names is in the roster; read from the raw files, as for policies."""
    for path, data in raw_schedules:
        places: list[tuple[str, object]] = []
        for i, layer in enumerate(_listed(data.get("layers") if isinstance(data, dict) else None)):
            people = layer.get("participants") if isinstance(layer, dict) else None
            places += [(f"layers[{i}].participants[{j}]", who) for j, who in enumerate(_listed(people))]
        for i, override in enumerate(_listed(data.get("overrides") if isinstance(data, dict) else None)):
            places += [
                (f"overrides[{i}].{key}", override.get(key))
                for key in ("responder", "replaces")
                if isinstance(override, dict)
            ]
        for where, who in places:
            if not isinstance(who, str) or not re.fullmatch(IDENTIFIER_PATTERN, who.strip()):
                continue  # the schedule's own validation reports a malformed id
            if who.strip() not in roster.responders:
                problems.append(
                    f"{path}: {where}: {who!r} is not in {ROSTER_FILE}; "
                    "add them under responders or fix the id"
                )


def _people(tier: Tier, schedules: Mapping[str, Schedule]) -> list[str]:
    """Everyone a tier may page: its responder ids and everyone its schedules can put on call."""
    people: list[str] = []
    for target in tier.targets():
        name = schedule_name(target)
        people += (
            [target] if name is None else sorted(schedules[name].responders) if name in schedules else []
        )
    return list(dict.fromkeys(people))


def _check_channels(
    policies: dict[str, tuple[EscalationPolicy, Path]],
    roster: Roster,
    schedules: Mapping[str, Schedule],
    channels: ChannelSettings,
    roster_source: str,
    problems: list[str],
) -> None:
    """Every channel a responder's rules or a tier's override may use can really be sent (to
    everyone a tier's schedules can put on call, too)."""
    for responder_id, person in roster.responders.items():
        own = f"responders.{responder_id}.channels"
        rules = [
            (own, person.channels)
            if person.channels
            else (f"default_channels ({own})", roster.default_channels)
        ]
        rules += [
            (f"responders.{responder_id}.by_severity.{severity.value}", used)
            for severity, used in person.by_severity.items()
        ]
        for where, used in rules:
            for channel in used:
                if reason := channels.refusal(channel, person):
                    problems.append(f"{roster_source}: {where}: {reason}")
    for policy, path in policies.values():
        for t, tier in enumerate(policy.tiers):
            for channel in tier.channels or []:
                for target in _people(tier, schedules):
                    person = roster.responders.get(target)
                    if person and (reason := channels.refusal(channel, person)):
                        problems.append(f"{path}: tiers[{t}].channels: {target}: {reason}")


def _check_routes(routing: Routing, found: set[str], source: str, problems: list[str]) -> None:
    known = ", ".join(sorted(found)) or "(none defined)"
    refs = [("default", routing.default)] + [
        (f"routes[{i}].policy", route.policy) for i, route in enumerate(routing.routes)
    ]
    for path, name in refs:
        if name not in found:
            problems.append(f"{source}: {path}: policy {name!r} does not exist; use one of: {known}")


ChannelCheck = Callable[[Path, ChannelSettings], list[str]]
"""A check of ``channels.yaml`` that needs more than the domain, run by the side that owns it
(the worker renders the page templates): it returns problem lines, reported with the rest."""


def _load_integrations(directory: Path, found: set[str], problems: list[str]) -> Integrations | None:
    """``integrations.yaml`` when present (none without it); every policy it names must exist."""
    path = directory / INTEGRATIONS_FILE
    if not path.exists():
        return Integrations()
    integrations = _load_file(path, Integrations, problems)
    for name, integration in (integrations.integrations if integrations else {}).items():
        if integration.policy is not None and integration.policy not in found:
            problems.append(
                f"{path}: integrations.{name}.policy: policy {integration.policy!r} does not exist; "
                f"use one of: {', '.join(sorted(found)) or '(none defined)'}"
            )
    return integrations


def _load_channels(
    directory: Path, problems: list[str], checks: Sequence[ChannelCheck]
) -> ChannelSettings | None:
    """``channels.yaml`` with its files resolved against the directory, checked by ``checks``.

    Without the file only the console is set up. None when the file is invalid.
    """
    path = directory / CHANNELS_FILE
    if not path.exists():
        return ChannelSettings()
    channels = _load_file(path, ChannelSettings, problems)
    if channels is None:
        return None
    if channels.email and channels.email.ca_file:
        ca_file = directory / channels.email.ca_file  # an absolute path stays as it is
        if not ca_file.is_file():
            problems.append(
                f"{path}: email.ca_file: {ca_file} is not a file; point it at a PEM bundle of CA certificates"
            )
        channels = channels.model_copy(
            update={"email": channels.email.model_copy(update={"ca_file": ca_file})}
        )
    for check in checks:
        problems.extend(check(directory, channels))
    return channels


def load_channels(directory: Path) -> ChannelSettings:
    """``channels.yaml`` alone, for the API's answer-from-the-page routes (Slack, Twilio): ingest
    loads without it, so a mistake there only turns those routes away. ConfigError lists problems."""
    problems: list[str] = []
    channels = _load_channels(directory, problems, ())
    if problems or channels is None:
        raise ConfigError(problems)
    return channels


def load_config(
    directory: Path, *, with_channels: bool = True, channel_checks: Sequence[ChannelCheck] = ()
) -> Config:
    """Load and cross-check the whole directory; raise ConfigError listing every problem.

    Clients that only open incidents skip ``channels.yaml`` (``with_channels=False``): it is the
    worker's business, and a mistake in it must not stop anyone from opening an incident.
    """
    if not directory.is_dir():
        raise ConfigError(
            [
                f"{directory}: configuration directory not found; "
                "set ESCALATION_CONFIG or create it (see config/ for an example)"
            ]
        )
    problems: list[str] = []
    roster = _load_file(directory / ROSTER_FILE, Roster, problems)
    routing = _load_file(directory / ROUTING_FILE, Routing, problems)
    files = _load_policies(directory, problems)
    policies = files.valid
    schedules = _load_named(directory / SCHEDULE_DIR, Schedule, "schedule", problems)
    channels = _load_channels(directory, problems, channel_checks) if with_channels else ChannelSettings()
    if roster is not None:
        _check_targets(files.raw, roster, schedules.found, problems)
        _check_schedule_people(schedules.raw, roster, problems)
        if with_channels and channels is not None:
            valid_schedules = {name: schedule for name, (schedule, _) in schedules.valid.items()}
            _check_channels(
                policies, roster, valid_schedules, channels, str(directory / ROSTER_FILE), problems
            )
    if routing is not None:
        _check_routes(routing, files.found, str(directory / ROUTING_FILE), problems)
    integrations = _load_integrations(directory, files.found, problems)
    if problems or roster is None or routing is None or channels is None or integrations is None:
        raise ConfigError(problems)
    return Config(
        directory=directory,
        roster=roster,
        routing=routing,
        policies={name: policy for name, (policy, _) in policies.items()},
        channels=channels,
        integrations=integrations,
        schedules={name: schedule for name, (schedule, _) in schedules.valid.items()},
    )
