"""``escalate up`` supervises its children: they die with it, and come back when they die."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Product, pages_of, start_product
from tests.ports import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table in /proc"),
]


def children_of(parent: int) -> dict[int, str]:
    """Live child processes of ``parent``: pid to command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(pid := int(entry.name)) and _field(pid, 3) == str(parent):
            found[pid] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return found


def _field(pid: int, index: int) -> str | None:
    """A field of /proc/<pid>/stat after the command name (index 2 is the state, 3 the parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[index - 2]


def alive(pid: int) -> bool:
    """Running, not gone or a zombie waiting for its reaper."""
    return _field(pid, 2) not in (None, "Z")


def until(check: Any, what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return result


def test_killing_escalate_up_leaves_no_process_behind(tmp_path: Path) -> None:
    data_dir, ports = tmp_path / "data", (free_port(), free_port())
    first = start_product(tmp_path, data_dir, ports)
    opened = first.cli_json("trigger", "--service", "search", "--severity", "SEV2", "--title", "Disk full")
    children = children_of(first.process.pid)
    assert any("start-dev" in command for command in children.values()), children
    assert any("worker" in command for command in children.values()), children
    assert any("starter.web" in command for command in children.values()), children

    first.process.kill()
    first.process.wait(timeout=10)
    until(lambda: not any(alive(pid) for pid in children), f"orphans left: {children}")

    second = start_product(tmp_path, data_dir, ports)
    try:
        assert second.cli_json("status", opened["incident_id"])["status"] == "triggered"
    finally:
        assert second.stop() == 0


def paged_at_least(product: Product, incident_id: str, pages: int) -> dict[str, Any] | None:
    """The status once ``pages`` pages went out; None before, and while the server is away
    (the CLI then exits non-zero)."""
    result = product.cli("status", incident_id, "--json")
    status = json.loads(result.stdout) if result.returncode == 0 else None
    return status if status and len(pages_of(status)) >= pages else None


def test_an_escalation_climbs_on_after_the_dev_server_is_killed(tmp_path: Path) -> None:
    product = start_product(tmp_path, tmp_path / "data")
    try:
        opened = product.cli_json("trigger", "--service", "search", "--severity", "SEV2", "--title",
                                  "Index lagging", "--policy", "e2e")  # fmt: skip
        incident_id = opened["incident_id"]
        product.until_status(incident_id, lambda s: len(pages_of(s)) >= 1)
        children = children_of(product.process.pid)
        (server,) = (pid for pid, command in children.items() if "start-dev" in command)

        os.kill(server, signal.SIGKILL)
        until(lambda: "restarting in" in product.output.read_text(), "the dev server was not restarted")
        assert "the Temporal dev server exited with code -9" in product.output.read_text()

        status = until(
            lambda: paged_at_least(product, incident_id, 3),
            "the escalation did not climb on after the restart",
        )
        assert [targets for _, targets, _ in pages_of(status)][:3] == [["ana"], ["ben"], ["sofia"]]
    finally:
        assert product.stop() == 0
