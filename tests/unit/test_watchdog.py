"""Where the kernel cannot kill a child with its parent, the shell watchdog does."""

from __future__ import annotations

import os
import subprocess

from starter.embedded import WATCHDOG


def test_the_watchdog_stops_the_child_once_the_parent_is_gone() -> None:
    parent = subprocess.Popen(["sleep", "120"])
    child = subprocess.Popen(["sleep", "120"])
    watchdog = subprocess.Popen(["/bin/sh", "-c", WATCHDOG, "watchdog", str(parent.pid), str(child.pid)])
    try:
        parent.kill()
        parent.wait()
        assert child.wait(timeout=30) == -15, "the child must get SIGTERM"
        assert watchdog.wait(timeout=30) == 0
    finally:
        for process in (parent, child, watchdog):
            process.kill()
            process.wait()


def test_the_watchdog_ends_with_the_child() -> None:
    child = subprocess.Popen(["sleep", "120"])
    watchdog = subprocess.Popen(["/bin/sh", "-c", WATCHDOG, "watchdog", str(os.getpid()), str(child.pid)])
    child.kill()
    child.wait()
    watchdog.wait(timeout=30)  # a watchdog left behind would time out here
