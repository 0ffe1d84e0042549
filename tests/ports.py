"""Free TCP ports for servers a test starts as other processes.

The kernel may hand the same ephemeral port to two probes in a row once the first is closed, so
ports given out here are remembered and never given out again in this process: a product started
with three of them cannot be told to listen twice on one.
"""

from __future__ import annotations

import socket

_GIVEN: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on now and that this process has not been given before."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port
