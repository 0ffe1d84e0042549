"""Many open escalations: what holding N costs, how late deadlines fire under them, and acks.

One dev server, one worker process per side. In order:

1. Open N escalations (bench-hold policy: nothing climbs) and N bare lifecycle workflows, C in
   flight, in alternating chunks; they stay open to the end. Reported: how long the N triggers
   took, each worker's RSS after and at its peak, CPU of the workers, the server and the client.
2. Timer lag under that load. A round triggers R·W workflows paced at R per second for W
   seconds, whose first deadline falls due W + 5 s after each opens (the bench-due policy:
   ack_timeout; the bare ``BareTimers``: a timer), so deadlines fall due at R per second while
   nothing else is sent. Lag is deadline → the next page recorded (the backup's ``notified``
   event in the escalation's timeline; the bare workflow's second activity). The first round
   runs at 5/s; later ones double the rate while lag p99 stays under 1 s, then bisect, per side.
3. Acknowledge the N open ones on both sides, C in flight: ack latency under that load.

    python -m bench.open_escalations       # N = 10,000, C = 50, W = 30 s, up to 7 rounds per side
"""

from __future__ import annotations

import argparse
import asyncio
import math
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.report import Latencies, options, p50_p99, percentile, publish, ratio, table
from bench.sides import Deadline, EscalationSide, FloorSide, Side
from bench.support import Bench, Spent, in_flight, memory_mb, paced, running_bench
from starter.connection import connect

DUE_GAP_SECONDS = 5
"""Between the last trigger of a round and its first deadline (at most a window): the deadlines
fall due alone."""
LAG_TARGET_SECONDS = 1.0
SETTLE_SECONDS = 2
Args = argparse.Namespace


@dataclass
class LagRound:
    rate: float
    lags: list[float]
    missing: int
    achieved: float
    """Deadlines per second as they actually fell due (triggers that lag spread them out)."""
    cores: dict[str, float]

    @property
    def p99(self) -> float:
        return math.inf if self.missing else percentile(self.lags, 99)

    @property
    def steady(self) -> bool:
        return self.p99 < LAG_TARGET_SECONDS


@dataclass
class Figures:
    """What one side measured."""

    name: str
    opened: list[str] = field(default_factory=list)
    opening: Spent = field(default_factory=Spent)
    acknowledging: Spent = field(default_factory=Spent)
    latencies: Latencies = field(default_factory=Latencies)
    rss_after_open: float = 0.0
    peak_rss: float = 0.0
    rounds: list[LagRound] = field(default_factory=list)

    def best_rate(self) -> float | None:
        return max((r.rate for r in self.rounds if r.steady), default=None)

    def next_rate(self, first: float, limit: int) -> float | None:
        """Double while lag holds, then halve the gap between the best rate and the first that failed."""
        if not self.rounds:
            return first
        if len(self.rounds) >= limit:
            return None
        good = self.best_rate()
        bad = min((r.rate for r in self.rounds if not r.steady), default=None)
        if bad is None:
            return 2 * (good or first)
        if good is None:
            return bad / 2
        return (good + bad) / 2 if bad / good > 1.2 else None


Workers = dict[str, list[subprocess.Popen[bytes]]]


async def alternating(
    bench: Bench,
    sides: list[Side],
    workers: Workers,
    args: Args,
    job: Callable[[Side, int], Awaitable[None]],
) -> dict[str, Spent]:
    """``job(side, i)`` for i < N on every side, C in flight, in chunks alternating between the sides
    (so neither meets a fuller server than the other); the time and CPU each side spent."""
    spent = {side.kind: Spent() for side in sides}
    size = math.ceil(args.open / args.chunks)
    for first in range(0, args.open, size):
        for side in sides:
            meters = bench.meters(worker=workers[side.kind])
            n = min(size, args.open - first)
            seconds = await in_flight(n, args.concurrency, lambda i, s=side, f=first: job(s, f + i))
            spent[side.kind].add(seconds, meters)
    return spent


async def open_many(
    bench: Bench, sides: list[Side], workers: Workers, figures: dict[str, Figures], args: Args
) -> None:
    async def trigger(side: Side, _: int) -> None:
        mine = figures[side.kind]
        mine.opened.append(await mine.latencies.timed("trigger", side.trigger(uuid.uuid4().hex)))

    spent = await alternating(bench, sides, workers, args, trigger)
    for side in sides:
        figures[side.kind].opening = spent[side.kind]
        figures[side.kind].rss_after_open = memory_mb(workers[side.kind][0].pid)


async def lag_round(bench: Bench, side: Side, rate: float, args: Args, workers: Workers) -> LagRound:
    """Deadlines falling due at ``rate`` per second for the window; their lag once all are paged."""
    count = max(2, round(rate * args.window))
    ids: list[str] = []
    started = time.monotonic()

    async def start(_: int) -> None:
        ids.append(await side.start_due(uuid.uuid4().hex))

    await paced(count, rate, start)
    first_due = started + args.due
    await asyncio.sleep(max(0.0, first_due - time.monotonic()))
    meters = bench.meters(worker=workers[side.kind])
    await asyncio.sleep(max(0.0, first_due + args.window + SETTLE_SECONDS - time.monotonic()))
    cores = {name: meter.cores() for name, meter in meters.items()}
    deadlines = await collect(side, ids, args)
    due = sorted(d for d, _ in deadlines.values())
    lags = [paged - d for d, paged in deadlines.values() if paged is not None]
    achieved = (len(due) - 1) / (due[-1] - due[0]) if due[-1] > due[0] else math.nan
    return LagRound(rate, lags, len(ids) - len(lags), achieved, cores)


async def collect(side: Side, ids: list[str], args: Args) -> dict[str, Deadline]:
    """Each workflow's deadline and page, asking again for those not yet paged (for up to a window)."""
    found: dict[str, Deadline] = {}
    give_up = time.monotonic() + max(10.0, args.window)
    while True:
        pending = [i for i in ids if i not in found or found[i][1] is None]
        if not pending or time.monotonic() > give_up:
            return found

        async def ask(index: int, pending: list[str] = pending) -> None:
            found[pending[index]] = await side.deadline(pending[index])

        await in_flight(len(pending), args.concurrency, ask)
        await asyncio.sleep(1 if any(found[i][1] is None for i in pending) else 0)


async def search(
    bench: Bench, sides: list[Side], workers: Workers, figures: dict[str, Figures], args: Args
) -> None:
    """Rounds alternate between the sides; each side searches its own highest steady rate."""
    while planned := [
        (side, rate) for side in sides if (rate := figures[side.kind].next_rate(args.first_rate, args.rounds))
    ]:
        for side, rate in planned:
            result = await lag_round(bench, side, rate, args, workers)
            figures[side.kind].rounds.append(result)
            print(
                f"{side.name} at {rate:g}/s: lag p50 / p99 {p50_p99(result.lags)}, {result.missing} not paged"
            )


async def acknowledge_all(
    bench: Bench, sides: list[Side], workers: Workers, figures: dict[str, Figures], args: Args
) -> None:
    async def acknowledge(side: Side, index: int) -> None:
        mine = figures[side.kind]
        await mine.latencies.timed("acknowledge", side.acknowledge(mine.opened[index]))

    spent = await alternating(bench, sides, workers, args, acknowledge)
    for side in sides:
        figures[side.kind].acknowledging = spent[side.kind]
        figures[side.kind].peak_rss = memory_mb(workers[side.kind][0].pid, "VmHWM")


def summary(ours: Figures, floor: Figures, args: Args) -> str:
    n = args.open

    def row(
        label: str, show: Callable[[Figures], str], value: Callable[[Figures], float] | None = None
    ) -> list[str]:
        return [label, show(ours), show(floor), ratio(value(ours), value(floor)) if value else ""]

    def cores(spent: Callable[[Figures], Spent]) -> Callable[[Figures], str]:
        return lambda f: " / ".join(f"{spent(f).cores(name):.2f}" for name in ("worker", "server", "client"))

    def first_round(f: Figures) -> str:
        first = f.rounds[0]
        missing = f", {first.missing} not paged" if first.missing else ""
        return f"{p50_p99(first.lags)} at {first.rate:g}/s{missing}"

    def best(f: Figures) -> str:
        rate, tried = f.best_rate(), ", ".join(f"{r.rate:g}" for r in f.rounds)
        return f"{'none' if rate is None else f'{rate:g}/s'} (tried {tried})"

    return table(
        ["", "escalation", "bare workflow", "escalation / bare"],
        [
            row(f"{n} triggers took", lambda f: f"{f.opening.seconds:.1f} s ({n / f.opening.seconds:.1f}/s)",
                lambda f: f.opening.seconds),
            row("trigger p50 / p99", lambda f: p50_p99(f.latencies.samples["trigger"])),
            row("cores used while opening: worker / server / client", cores(lambda f: f.opening)),
            row("worker RSS after opening / peak", lambda f: f"{f.rss_after_open:.0f} / {f.peak_rss:.0f} MB",
                lambda f: f.peak_rss),
            row("timer lag p50 / p99", first_round),
            row(f"highest deadlines/s with lag p99 < {LAG_TARGET_SECONDS:g} s", best,
                lambda f: f.best_rate() or math.nan),
            row(f"acknowledging all {n}: p50 / p99", lambda f: p50_p99(f.latencies.samples["acknowledge"])),
            row("acknowledgements per second", lambda f: f"{n / f.acknowledging.seconds:.1f}",
                lambda f: n / f.acknowledging.seconds),
            row("cores used while acknowledging: worker / server / client", cores(lambda f: f.acknowledging)),
        ],
    )  # fmt: skip


def rounds(figures: dict[str, Figures]) -> str:
    header = [
        "side",
        "asked",
        "achieved",
        "deadlines",
        "lag p50 / p99",
        "max",
        "not paged",
        "cores: worker / server",
    ]
    rows = [
        [
            f.name,
            f"{r.rate:g}/s",
            f"{r.achieved:.1f}/s",
            len(r.lags) + r.missing,
            p50_p99(r.lags),
            f"{max(r.lags, default=math.nan):.2f} s",
            r.missing,
            f"{r.cores['worker']:.2f} / {r.cores['server']:.2f}",
        ]
        for f in figures.values()
        for r in f.rounds
    ]
    return table(header, rows)


async def main() -> None:
    parser = options(__doc__)
    parser.add_argument("--open", type=int, default=10_000, help="open workflows per side (default 10000)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (default 50)")
    parser.add_argument("--chunks", type=int, default=10, help="alternating chunks per side (default 10)")
    parser.add_argument("--window", type=int, default=30, help="seconds of deadlines per round (default 30)")
    parser.add_argument(
        "--first-rate", type=float, default=5, help="deadlines/s of the first round (default 5)"
    )
    parser.add_argument("--rounds", type=int, default=7, help="timer-lag rounds per side at most (default 7)")
    args = parser.parse_args()
    if args.quick:
        args.open, args.concurrency, args.chunks, args.window, args.rounds = 40, 10, 2, 2, 1
    args.due = due = args.window + min(DUE_GAP_SECONDS, args.window)
    async with running_bench(due) as bench:
        client = await connect(bench.address)
        sides: list[Side] = [
            EscalationSide(bench.escalations(client), client, due),
            FloorSide(await bench.floor_client(), due),
        ]
        workers = bench.start_workers(1)
        figures = {side.kind: Figures(side.name) for side in sides}
        await open_many(bench, sides, workers, figures, args)
        await search(bench, sides, workers, figures, args)
        await acknowledge_all(bench, sides, workers, figures, args)
    text = (
        f"{summary(figures['escalation'], figures['floor'], args)}\n\n"
        f"Timer-lag rounds, each {args.window} s of deadlines:\n\n{rounds(figures)}"
    )
    publish(args, "bench.open_escalations", "open-escalations", text)


if __name__ == "__main__":
    asyncio.run(main())
