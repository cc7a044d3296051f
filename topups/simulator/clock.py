"""The simulator's clock: real time plus an offset that tests can push forward.

Lifecycles and IP blocks are computed from this clock, so a test can jump over a 120 s queue or a
15 min block with ``advance`` instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch on the simulator clock."""
        with self._lock:
            return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> None:
        # Never backwards: a clock that goes back would un-fulfil orders and un-block IPs.
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
