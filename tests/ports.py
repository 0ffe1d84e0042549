"""Free TCP ports for servers a test starts as other processes.

A port is only reserved once its server binds it, so a port handed out here must not be one the
kernel can give anyone else in the meantime. The kernel hands out ephemeral ports (bind to port 0,
outgoing connections, the Temporal dev server's own internal services) from
``ip_local_port_range``: ports here come from below it, are checked free, and are never handed
out twice in one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_GIVEN: set[int] = set()
_LOWEST = 20000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _candidates() -> range:
    """Ports below the kernel's ephemeral range (from 32768 by default)."""
    ephemeral_low = int(_EPHEMERAL_RANGE.read_text().split()[0]) if _EPHEMERAL_RANGE.exists() else 32768
    return range(_LOWEST, max(ephemeral_low, _LOWEST + 1000))


def free_port() -> int:
    """A loopback port nobody listens on now, outside the ephemeral range, not given out before."""
    candidates = _candidates()
    while True:
        port = random.choice(candidates)
        if port in _GIVEN:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
