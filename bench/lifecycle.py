"""Lifecycle against the floor: whole escalations beside bare workflows of the same shape.

One run, one dev server, one worker process per side (each a subprocess, as in production:
``worker.py`` for escalations, ``bench.floor`` for the bare workflow). Rounds alternate between
the sides; each round runs N lifecycles with C in flight: trigger (update-with-start) → one
activity → acknowledge (update) → resolve (update) → one activity → done. The escalation side
goes through the Python API (``Escalations``) under the bench-hold policy (console only, nothing
climbs). While a side runs, its task queues' backlog is sampled.

    python -m bench.lifecycle                  # 300 lifecycles, 50 in flight, 3 rounds per side
    python -m bench.lifecycle --workers 1 2    # the same with 1, then 2 worker processes per side
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.report import Latencies, options, percentile, publish, ratio, table
from bench.sides import EscalationSide, FloorSide, Side
from bench.support import Bench, CpuMeter, Spent, in_flight, running_bench
from starter.connection import connect

BACKLOG_EVERY_SECONDS = 0.5
STEPS = ("trigger", "acknowledge", "resolve")
PROCESSES = ("worker", "server", "client")
KINDS = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}


async def lifecycle(side: Side, latencies: Latencies) -> None:
    incident_id = await latencies.timed("trigger", side.trigger(uuid.uuid4().hex))
    await latencies.timed("acknowledge", side.acknowledge(incident_id))
    await latencies.timed("resolve", side.resolve(incident_id))
    await side.finished(incident_id)


@dataclass
class Totals:
    """One side's lifecycles over every round: times, CPU per process, the largest backlog."""

    latencies: Latencies = field(default_factory=Latencies)
    spent: Spent = field(default_factory=Spent)
    count: int = 0
    rates: list[float] = field(default_factory=list)
    backlog: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    backlog_age: float = 0.0

    @property
    def per_second(self) -> float:
        return self.count / self.spent.seconds

    def cpu_ms(self, process: str) -> float:
        return self.spent.cpu_ms(process, self.count)

    def row(self, name: str) -> list[str]:
        return [
            name,
            f"{self.per_second:.1f} ({min(self.rates):.1f}-{max(self.rates):.1f})",
            *(self.latencies.p50_p99(step) for step in STEPS),
            " / ".join(f"{self.cpu_ms(process):.0f}" for process in PROCESSES),
            f"{self.backlog['workflow']} / {self.backlog['activity']} ({self.backlog_age:.1f} s)",
        ]


async def watch_backlog(client: Client, queue: str, totals: Totals) -> None:
    """Keep the largest backlog (and its age) of the workflow and activity task queues."""
    while True:
        for kind, queue_type in KINDS.items():
            request = DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=queue),
                task_queue_type=queue_type,
                report_stats=True,
            )
            stats = (await client.workflow_service.describe_task_queue(request)).stats
            totals.backlog[kind] = max(totals.backlog[kind], stats.approximate_backlog_count)
            age = stats.approximate_backlog_age.ToTimedelta().total_seconds()
            totals.backlog_age = max(totals.backlog_age, age)
        await asyncio.sleep(BACKLOG_EVERY_SECONDS)


async def run_round(
    side: Side, count: int, concurrency: int, meters: dict[str, CpuMeter], totals: Totals
) -> None:
    """``count`` lifecycles of one side, added to its totals."""
    watcher = asyncio.create_task(watch_backlog(side.client, side.queue, totals))
    try:
        seconds = await in_flight(count, concurrency, lambda _: lifecycle(side, totals.latencies))
    finally:
        watcher.cancel()
    totals.spent.add(seconds, meters)
    totals.count += count
    totals.rates.append(count / seconds)


async def compare(bench: Bench, workers: int, args: argparse.Namespace, sides: list[Side]) -> str:
    """Warm both sides up (first workflow tasks pay for imports and the sandbox: not counted), run the
    alternating rounds, and return the table."""
    started = bench.start_workers(workers)
    totals = {side.kind: Totals() for side in sides}
    try:
        for side in sides:
            await run_round(
                side, args.warmup, args.concurrency, bench.meters(worker=started[side.kind]), Totals()
            )
        for round_number in range(args.rounds):
            for side in sides if round_number % 2 == 0 else reversed(sides):
                meters = bench.meters(worker=started[side.kind])
                await run_round(side, args.lifecycles, args.concurrency, meters, totals[side.kind])
    finally:
        bench.stop([worker for processes in started.values() for worker in processes])
    return figures(workers, sides, totals)


def figures(workers: int, sides: list[Side], totals: dict[str, Totals]) -> str:
    """One row per side, then the escalation's ratios to the floor."""
    ours, floor = totals["escalation"], totals["floor"]
    rows = [totals[side.kind].row(side.name) for side in sides]
    latency_ratios = [
        " / ".join(
            ratio(percentile(ours.latencies.samples[step], p), percentile(floor.latencies.samples[step], p))
            for p in (50, 99)
        )
        for step in STEPS
    ]
    cpu_ratios = " / ".join(ratio(ours.cpu_ms(process), floor.cpu_ms(process)) for process in PROCESSES)
    rows.append(
        ["escalation / bare", ratio(ours.per_second, floor.per_second), *latency_ratios, cpu_ratios, ""]
    )
    header = [
        f"{workers} worker process{'es' if workers > 1 else ''} per side",
        "lifecycles/s (rounds' range)",
        *(f"{step} p50 / p99" for step in STEPS),
        "CPU ms per lifecycle: worker / server / client",
        "max backlog: workflow / activity tasks (oldest)",
    ]
    return table(header, rows)


async def main() -> None:
    parser = options(__doc__)
    parser.add_argument("--lifecycles", type=int, default=300, help="per side per round (default 300)")
    parser.add_argument("--concurrency", type=int, default=50, help="lifecycles in flight (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side, alternating (default 3)")
    parser.add_argument(
        "--warmup", type=int, default=50, help="uncounted lifecycles per side first (default 50)"
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1], help="worker processes per side (default 1)"
    )
    args = parser.parse_args()
    if args.quick:
        args.lifecycles, args.concurrency, args.rounds, args.warmup = 30, 10, 1, 10
    async with running_bench() as bench:
        client = await connect(bench.address)
        sides: list[Side] = [
            FloorSide(await bench.floor_client()),
            EscalationSide(bench.escalations(client), client),
        ]
        tables = [await compare(bench, workers, args, sides) for workers in args.workers]
    section = "lifecycle" if args.workers == [1] else "scaling"
    publish(args, "bench.lifecycle", section, "\n\n".join(tables))


if __name__ == "__main__":
    asyncio.run(main())
