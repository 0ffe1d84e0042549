"""What every benchmark runs on: a Temporal dev server started as ``escalate up`` starts it, a
bench configuration where nothing climbs unless asked to, worker processes for both sides,
readings of their CPU and memory from /proc, and the two ways of sending load (C in flight,
or paced at a rate)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from bench.report import REPO
from escalation.settings import SECRET_ENV, Settings
from starter.api import Escalations
from starter.connection import connect, ensure_search_attributes
from starter.embedded import Embedded, server_command, spawn, wait_until_serving
from tests.ports import free_port

ESCALATION_QUEUE = "bench-escalations"
HOLD_POLICY = "bench-hold"
DUE_POLICY = "bench-due"
SERVICE = "bench"
INTEGRATION = "bench-alerts"
INTEGRATION_KEY_ENV = "BENCH_ALERTS_KEY"
INTEGRATION_KEY = "bench-only-integration-key"
API_SECRET = secrets.token_hex(32)
READY_SECONDS = 60
SIDES = ("floor", "escalation")
WORKER_MODULES = {"floor": "bench.floor", "escalation": "worker"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

ROSTER = """\
default_channels: [console]
responders:
  ana: {name: Ana Bench}
  ben: {name: Ben Bench}
"""
INTEGRATIONS = f"""\
integrations:
  {INTEGRATION}:
    service: {SERVICE}
    key_env: {INTEGRATION_KEY_ENV}
    policy: {HOLD_POLICY}
    rate_limit_per_minute: 100000
"""
HOLD = f"""\
name: {HOLD_POLICY}
version: 1
description: Nothing climbs while a benchmark runs; the first step waits a day.
tiers:
  - {{name: frontline, primary: [ana], ack_timeout: 24h, channels: [console]}}
"""
DUE = """\
name: {name}
version: 1
description: The first deadline falls due {seconds}s after the trigger; the backup then waits a day.
tiers:
  - {{name: frontline, primary: [ana], backup: [ben], ack_timeout: {seconds}s, backup_timeout: 24h,
      channels: [console]}}
"""


def write_config(directory: Path, due_seconds: int) -> Path:
    """The example configuration (its templates) with a console-only roster and the bench policies."""
    shutil.copytree(REPO / "config", directory)
    shutil.rmtree(directory / "policies")
    shutil.rmtree(directory / "schedules", ignore_errors=True)  # they name the example roster's people
    (directory / "policies").mkdir()
    (directory / "roster.yaml").write_text(ROSTER)
    (directory / "routing.yaml").write_text(f"default: {HOLD_POLICY}\n")
    (directory / "channels.yaml").write_text("templates: templates\n")
    (directory / "integrations.yaml").write_text(INTEGRATIONS)
    (directory / "policies" / f"{HOLD_POLICY}.yaml").write_text(HOLD)
    (directory / "policies" / f"{DUE_POLICY}.yaml").write_text(
        DUE.format(name=DUE_POLICY, seconds=due_seconds)
    )
    return directory


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/<pid>/status in MB: VmRSS now, VmHWM the peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"{field} is not in /proc/{pid}/status")


@dataclass
class CpuMeter:
    """CPU a set of processes used since ``start``: in seconds, or in cores (1.0 is one core kept busy)."""

    pids: list[int]
    started: float = 0.0
    cpu: float = 0.0

    def start(self) -> CpuMeter:
        self.started, self.cpu = time.monotonic(), sum(map(cpu_seconds, self.pids))
        return self

    def seconds(self) -> float:
        """CPU seconds used since ``start``."""
        return sum(map(cpu_seconds, self.pids)) - self.cpu

    def cores(self) -> float:
        return self.seconds() / (time.monotonic() - self.started)


@dataclass
class Spent:
    """Wall-clock seconds and CPU seconds per process group, added up over the measured stretches."""

    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, seconds: float, meters: dict[str, CpuMeter]) -> None:
        self.seconds += seconds
        for name, meter in meters.items():
            self.cpu[name] += meter.seconds()

    def cores(self, name: str) -> float:
        return self.cpu[name] / self.seconds

    def cpu_ms(self, name: str, count: int) -> float:
        """CPU milliseconds of the group per unit of work."""
        return self.cpu[name] / count * 1000


@dataclass
class Bench:
    """A running dev server in a temporary directory, and how to start workers against it."""

    directory: Path
    server: subprocess.Popen[bytes]
    address: str
    config_dir: Path
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def settings(self) -> Settings:
        return Settings(config_dir=self.config_dir, data_dir=self.directory, task_queue=ESCALATION_QUEUE)

    def escalations(self, client: Client) -> Escalations:
        """The product's Python API on ``client`` (from ``connect``, as a service using it connects)."""
        return Escalations(client, self.settings())

    async def floor_client(self) -> Client:
        """A plain client with the SDK's default converter, as the bare workflow needs."""
        return await Client.connect(self.address)

    def env(self) -> dict[str, str]:
        """This process's environment without its Temporal settings, pointed at the bench server."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("TEMPORAL_")}
        return env | {
            "TEMPORAL_ADDRESS": self.address,
            "TEMPORAL_NAMESPACE": "default",
            "ESCALATION_CONFIG": str(self.config_dir),
            "ESCALATION_DATA_DIR": str(self.directory),
            "ESCALATION_TASK_QUEUE": ESCALATION_QUEUE,
            INTEGRATION_KEY_ENV: INTEGRATION_KEY,
            SECRET_ENV: API_SECRET,  # the HTTP API needs one; no ESCALATION_PUBLIC_URL: pages carry no links
        }

    def start(self, commands: dict[str, list[str]], ready: str) -> dict[str, subprocess.Popen[bytes]]:
        """Child processes (name: command), each logging to ``<name>.log`` here, once all logged ``ready``."""
        started = {}
        for name, command in commands.items():
            with (self.directory / f"{name}.log").open("wb") as sink:
                started[name] = spawn(
                    command, env=self.env(), cwd=REPO, stdout=sink, stderr=subprocess.STDOUT
                )
        self.children += started.values()
        deadline = time.monotonic() + READY_SECONDS
        for name, child in started.items():
            log = self.directory / f"{name}.log"
            while ready not in log.read_text(errors="replace"):
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{name} did not get ready; its log:\n{log.read_text(errors='replace')}"
                    )
                time.sleep(0.1)
        return started

    def start_workers(
        self, count: int, sides: tuple[str, ...] = SIDES
    ) -> dict[str, list[subprocess.Popen[bytes]]]:
        """``count`` worker processes per side: the product's ``worker.py``, or the bare floor's."""
        commands = {
            f"{side}-worker-{i}": [sys.executable, "-m", WORKER_MODULES[side]]
            for side in sides
            for i in range(count)
        }
        started = self.start(commands, "worker ready")
        return {side: [started[f"{side}-worker-{i}"] for i in range(count)] for side in sides}

    def meters(self, **groups: list[subprocess.Popen[bytes]]) -> dict[str, CpuMeter]:
        """Started CPU meters of each group of children (``worker=[...]``), the server and this process."""
        pids = {name: [child.pid for child in children] for name, children in groups.items()}
        pids |= {"server": [self.server.pid], "client": [os.getpid()]}
        return {name: CpuMeter(group).start() for name, group in pids.items()}

    def stop(self, children: list[subprocess.Popen[bytes]]) -> None:
        stop(children)
        self.children = [child for child in self.children if child not in children]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM them all, then wait for each (killed if it takes more than 30 s)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def running_bench(due_seconds: int = 60) -> AsyncIterator[Bench]:
    """A fresh dev server (SQLite file, search attributes registered) and configuration; removed after.

    ``due_seconds``: when the ``bench-due`` policy's first deadline falls due after a trigger.
    """
    with tempfile.TemporaryDirectory(prefix="escalation-bench-") as tmp:
        directory = Path(tmp)
        embedded = Embedded(directory, free_port(), free_port())
        with (directory / "temporal.log").open("ab") as log:
            server = spawn(server_command(embedded), stdout=log, stderr=log)
        bench = Bench(directory, server, embedded.address, write_config(directory / "config", due_seconds))
        try:
            await wait_until_serving(embedded.address, server)
            await ensure_search_attributes(await connect(embedded.address))
            yield bench
        finally:
            stop(bench.children)
            stop([server])


async def in_flight(count: int, concurrency: int, job: Callable[[int], Awaitable[object]]) -> float:
    """Run ``job(0)`` .. ``job(count - 1)``, at most ``concurrency`` at once; the seconds it took."""
    indexes = iter(range(count))

    async def lane() -> None:
        for index in indexes:
            await job(index)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - started


async def paced(count: int, rate: float, job: Callable[[int], Awaitable[object]]) -> None:
    """Start ``job(i)`` at ``i / rate`` seconds, whether or not earlier ones finished; return once all
    finished."""
    started = time.perf_counter()

    async def at(index: int) -> None:
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        await job(index)

    await asyncio.gather(*(at(i) for i in range(count)))
