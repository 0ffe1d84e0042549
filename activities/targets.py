"""Resolving a step's ``schedule:<name>`` targets when it is paged, from the worker's schedules.

The schedules are read afresh for every step (``current_config``), so an override added while
an incident is open applies to its later steps. The workflow passes its own time; the resolver
adds ``clock_offset``, so a drill on a test server can rehearse another moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog
from temporalio import activity

from escalation.config import Config, ConfigError, load_config
from escalation.models import schedule_name
from escalation.schedules import Schedule, on_call
from escalation.state import RESOLVE_TARGETS_ACTIVITY, ResolvedTargets, TargetsRequest


def resolve(targets: list[str], schedules: Mapping[str, Schedule], at: datetime) -> ResolvedTargets:
    """Whom ``targets`` page at ``at``: responder ids as they are, each schedule's people on call,
    in order, each once. A schedule the worker no longer knows has nobody, and says so."""
    people: list[str] = []
    found: dict[str, list[str]] = {}
    missing: list[str] = []
    for target in targets:
        name = schedule_name(target)
        if name is None:
            people.append(target)
            continue
        if name not in schedules:
            missing.append(name)
        found[name] = on_call(schedules[name], at) if name in schedules else []
        people += found[name]
    problem = f"no schedule {', '.join(missing)} in the worker's configuration" if missing else ""
    return ResolvedTargets(responders=list(dict.fromkeys(people)), schedules=found, at=at, problem=problem)


def current_config(config: Config) -> Callable[[], Config]:
    """The configuration as its directory has it now; while the directory does not load, the last
    configuration that did (the worker logs why)."""
    last = config

    def current() -> Config:
        nonlocal last
        try:
            last = load_config(config.directory, with_channels=False)
        except ConfigError as error:
            structlog.get_logger().warning(
                "schedules read from the last valid configuration", problems=error.problems
            )
        return last

    return current


class TargetResolver:
    def __init__(self, config_source: Callable[[], Config], clock_offset: timedelta = timedelta(0)) -> None:
        self._config_source = config_source
        self._clock_offset = clock_offset

    @activity.defn(name=RESOLVE_TARGETS_ACTIVITY)
    async def resolve_targets(self, request: TargetsRequest) -> ResolvedTargets:
        config = await asyncio.to_thread(self._config_source)
        return resolve(request.targets, config.schedules, request.at + self._clock_offset)
