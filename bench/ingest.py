"""Ingest: events per second through the HTTP API's ``POST /v2/enqueue`` against direct triggers
through the Python API, in the same run.

One dev server, one escalation worker process, and the real HTTP API (``python -m starter.web``,
uvicorn, as ``escalate up`` runs it) in its own process with the bench integration's key. Rounds
alternate between the two routes; each sends N trigger events (new dedup keys, bench-hold policy)
with C in flight: PagerDuty Events v2 bodies over HTTP, or ``Escalations.trigger`` in this process.

    python -m bench.ingest       # 1,000 events per round, 50 in flight, 3 rounds per route
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from bench.report import Latencies, options, percentile, publish, ratio, table
from bench.sides import EscalationSide
from bench.support import (
    INTEGRATION_KEY,
    CpuMeter,
    Spent,
    free_port,
    in_flight,
    running_bench,
)
from starter.connection import connect

PROCESSES = ("worker", "api", "server", "client")


def enqueue(http: httpx.AsyncClient) -> Callable[[str], Awaitable[object]]:
    async def send(key: str) -> None:
        event = {
            "routing_key": INTEGRATION_KEY,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {"summary": "Bench incident", "source": "bench", "severity": "warning"},
        }
        response = await http.post("/v2/enqueue", json=event)
        if response.status_code != 202:
            raise RuntimeError(f"POST /v2/enqueue answered {response.status_code}: {response.text}")

    return send


@dataclass
class Route:
    name: str
    send: Callable[[str], Awaitable[object]]
    latencies: Latencies = field(default_factory=Latencies)
    spent: Spent = field(default_factory=Spent)
    count: int = 0

    @property
    def per_second(self) -> float:
        return self.count / self.spent.seconds

    async def run(self, count: int, concurrency: int, meters: dict[str, CpuMeter]) -> None:
        """``count`` events with new dedup keys, added to the route's totals."""

        async def trigger(_: int) -> None:
            await self.latencies.timed("trigger", self.send(uuid.uuid4().hex))

        self.spent.add(await in_flight(count, concurrency, trigger), meters)
        self.count += count


def figures(http: Route, direct: Route) -> str:
    rows = [
        [
            route.name,
            f"{route.per_second:.1f}",
            route.latencies.p50_p99("trigger"),
            " / ".join(f"{route.spent.cpu_ms(name, route.count):.0f}" for name in PROCESSES),
        ]
        for route in (http, direct)
    ]
    p99 = [percentile(route.latencies.samples["trigger"], 99) for route in (http, direct)]
    rows.append(["HTTP / Python API", ratio(http.per_second, direct.per_second), ratio(*p99) + " (p99)", ""])
    return table(
        ["route", "events/s", "trigger p50 / p99", "CPU ms per event: " + " / ".join(PROCESSES)], rows
    )


async def main() -> None:
    parser = options(__doc__)
    parser.add_argument("--events", type=int, default=1000, help="per route per round (default 1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="events in flight (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per route, alternating (default 3)")
    parser.add_argument(
        "--warmup", type=int, default=50, help="uncounted events per route first (default 50)"
    )
    args = parser.parse_args()
    if args.quick:
        args.events, args.concurrency, args.rounds, args.warmup = 40, 10, 1, 10
    async with running_bench() as bench:
        workers = bench.start_workers(1, ("escalation",))["escalation"]
        port = free_port()
        api = bench.start(
            {"api": [sys.executable, "-m", "starter.web", "--port", str(port)]}, "Uvicorn running"
        )
        client = await connect(bench.address)
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as http:
            routes = [
                Route("HTTP POST /v2/enqueue", enqueue(http)),
                Route("Python API trigger", EscalationSide(bench.escalations(client), client).trigger),
            ]
            for route in routes:  # the first requests pay for connections and imports: not counted
                await Route(route.name, route.send).run(args.warmup, args.concurrency, {})
            for round_number in range(args.rounds):
                for route in routes if round_number % 2 == 0 else reversed(routes):
                    meters = bench.meters(worker=workers, api=list(api.values()))
                    await route.run(args.events, args.concurrency, meters)
    publish(args, "bench.ingest", "ingest", figures(*routes))


if __name__ == "__main__":
    asyncio.run(main())
