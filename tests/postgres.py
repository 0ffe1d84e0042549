"""A throwaway PostgreSQL server for tests, from Debian's ``postgresql`` package.

Its cluster lives in a temporary directory owned by the ``postgres`` user (the server refuses
to run as root), listens on 127.0.0.1 on a free port with trust authentication and its socket
in that directory, trades durability for speed (``fsync`` off), and is removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.ports import free_port
from tests.support import installed

INSTALL = "apt-get install postgresql"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    port: int

    def url(self, database: str = "postgres", password: str = "") -> str:
        credentials = f"{SUPERUSER}:{password}" if password else SUPERUSER
        return f"postgresql+psycopg://{credentials}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database: each test starts from nothing."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER}", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _binaries() -> Path:
    """Debian keeps them off PATH, under the major version: the newest installed one."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: float(Path(p).parent.parent.name)
    )
    return Path(installed(found[-1] if found else "initdb", INSTALL)).parent


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Skips (fails under CI) without the binaries; otherwise a running server, stopped at the end."""
    bin_dir = _binaries()
    root = Path(tempfile.mkdtemp(prefix="escalation-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, SUPERUSER, SUPERUSER)
        as_owner = [installed("runuser", "apt-get install util-linux"), "-u", SUPERUSER, "--"]
    data, log, port = root / "data", root / "server.log", free_port()

    def pg(program: str, *args: str) -> None:
        subprocess.run([*as_owner, str(bin_dir / program), *args], cwd=root, check=True, capture_output=True)

    try:
        pg("initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = f"-p {port} -k {root} -h 127.0.0.1 -F"
        try:
            pg("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        except subprocess.CalledProcessError:
            raise RuntimeError(f"PostgreSQL did not start:\n{log.read_text(errors='replace')}") from None
        try:
            yield PostgresServer(port)
        finally:
            pg("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
