"""Figures and where they go: percentiles, latency bookkeeping, the machine, and the sections of
docs/benchmarks.md each benchmark rewrites (between its begin/end markers, nothing else)."""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

from starter.embedded import temporal_binary

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "benchmarks.md"
T = TypeVar("T")


def percentile(values: Sequence[float], p: int) -> float:
    """The ``p``-th percentile (1-99), interpolated between the nearest ranks; NaN when empty."""
    if len(values) < 2:
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


@dataclass
class Latencies:
    """Seconds per named step (trigger, acknowledge, ...), pooled over every run of a side."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    async def timed(self, step: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        result = await call
        self.samples[step].append(time.perf_counter() - started)
        return result

    def p50_p99(self, step: str) -> str:
        return p50_p99(self.samples[step])


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def p50_p99(seconds: Sequence[float]) -> str:
    return f"{ms(percentile(seconds, 50))} / {ms(percentile(seconds, 99))}"


def ratio(ours: float, floor: float) -> str:
    return "n/a" if not floor or math.isnan(ours) or math.isnan(floor) else f"{ours / floor:.2f}x"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """Cores, CPU model and memory from /proc, and the versions that shape the figures."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    memory = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    server = subprocess.run([temporal_binary(), "--version"], capture_output=True, text=True).stdout.strip()
    cpu = model[1] if model else platform.machine()
    gib = f", {int(memory[1]) / 1024**2:.1f} GiB memory" if memory else ""
    return (
        f"{os.cpu_count()} cores ({cpu}){gib}; "
        f"Python {platform.python_version()}, temporalio {version('temporalio')}, {server}"
    )


def command(module: str) -> str:
    """The exact command that produced the figures, as typed from the repository root."""
    return " ".join(["python -m", module, *map(shlex.quote, sys.argv[1:])]).strip()


def write_section(docs: Path, name: str, body: str) -> None:
    """Replace the text between ``<!-- begin: name -->`` and ``<!-- end: name -->`` (appended if absent)."""
    begin, end = f"<!-- begin: {name} -->", f"<!-- end: {name} -->"
    text = docs.read_text() if docs.exists() else ""
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip() + ("\n\n" if text else "") + block + "\n"
    docs.write_text(text)


def options(description: str | None) -> argparse.ArgumentParser:
    """The options every benchmark takes besides its own; ``--help`` shows its module's docstring."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a run of under a minute, to see that it works")
    parser.add_argument(
        "--docs",
        type=Path,
        help=f"write the figures to this page (default {DOCS.relative_to(REPO)}, none with --quick)",
    )
    parser.add_argument("--section", help="the page's section to write (default the benchmark's own)")
    return parser


def publish(args: argparse.Namespace, module: str, section: str, figures: str) -> None:
    """Print the figures with how they were made and write them to their section of the page."""
    body = (
        f"Command: `{command(module)}`  \n"
        f"Machine: {machine()}  \n"
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n{figures.strip()}\n"
    )
    print(body, flush=True)
    docs = args.docs or (None if args.quick else DOCS)
    if docs is not None:
        write_section(docs, args.section or section, body)
        print(f"written to {docs} (section {args.section or section})", flush=True)
