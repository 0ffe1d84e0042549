"""An in-process token bucket per integration: a flapping monitor cannot flood the ladder."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Bucket:
    per_minute: int
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens, self.updated = float(self.per_minute), self.clock()

    def take(self) -> int:
        """0 when the event may pass; otherwise the seconds to wait before the next one."""
        now = self.clock()
        rate = self.per_minute / 60
        self.tokens = min(float(self.per_minute), self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return max(1, math.ceil((1 - self.tokens) / rate))
