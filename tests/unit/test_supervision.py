"""``escalate up`` restarts a child that died, and gives up only on a crash loop."""

from __future__ import annotations

import subprocess
import time

import pytest

from starter.embedded import RESTART_LIMIT, STABLE_SECONDS, Child, keep_running


def crashed_child() -> Child:
    child = Child.launch("worker", lambda: subprocess.Popen(["false"]))
    child.process.wait()
    return child


def test_a_dead_child_is_restarted_after_a_growing_delay(capsys: pytest.CaptureFixture[str]) -> None:
    child = crashed_child()
    child.failures = 1
    assert keep_running(child)
    assert capsys.readouterr().out == "worker exited with code 1; restarting in 2s (attempt 2 of 5)\n"
    child.restart_at = time.monotonic()  # the delay is over
    assert keep_running(child)
    assert child.restart_at is None and child.process.wait() == 1, "a new process was started"


def test_a_crash_loop_gives_up(capsys: pytest.CaptureFixture[str]) -> None:
    child = crashed_child()
    child.failures = RESTART_LIMIT
    assert not keep_running(child)
    assert "giving up" in capsys.readouterr().out


def test_a_child_that_ran_a_while_counts_its_restarts_afresh(capsys: pytest.CaptureFixture[str]) -> None:
    child = crashed_child()
    child.failures, child.started_at = RESTART_LIMIT, time.monotonic() - STABLE_SECONDS
    assert keep_running(child)
    assert "restarting in 1s (attempt 1 of 5)" in capsys.readouterr().out
