"""``escalate drill`` as a new user runs it: the installed command, no Temporal server, no secrets,
no record store; the table on stdout and nothing else on stderr."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import EXAMPLE_CONFIG, binary

pytestmark = pytest.mark.e2e


def test_the_installed_command_prints_the_ladder_and_leaves_nothing_behind(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "ESCALATION_"))}
    env |= {"ESCALATION_CONFIG": str(EXAMPLE_CONFIG), "TZ": "UTC"}  # support's schedule zone wins
    drill = [binary("escalate"), "drill", "--service", "checkout", "--severity", "SEV1"]

    done = subprocess.run(
        [*drill, "--at", "2026-11-28T03:00", "--ack-by", "sam@6m"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "no SDK or worker lines around the table"
    assert "triggered Sat 2026-11-28 03:00 EST" in done.stdout
    assert "+5m     Sat 03:05  supervisor  backup   1      sam via console" in done.stdout
    assert done.stdout.endswith("Acknowledged by sam at +6m.\n")
    assert list(tmp_path.iterdir()) == [], "no data directory, database or secrets file"

    refused = subprocess.run(
        [*drill, "--ack-by", "sam"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert (refused.returncode, refused.stdout) == (2, "")
    assert (
        refused.stderr
        == "escalate: --ack-by: 'sam' names no responder; write RESPONDER@OFFSET, e.g. sofia@25m\n"
    )
