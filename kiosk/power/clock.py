"""Clocks for power decisions: the real one, and one tests move by hand.

The power code never calls `time` or `datetime.now` itself, so a test can walk
a whole day of relay switching in milliseconds.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone


class SystemClock:
    """Wall time for schedule decisions, monotonic time for intervals."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to; wall and monotonic time move together.

    `monotonic()` can stand in for `gpiozero.pins.mock.monotonic`, so that a
    MockPin's state history carries the simulated times.
    """

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware start time")
        self._now = start
        self._mono = 1000.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float = 0.0, **delta) -> datetime:
        step = timedelta(seconds=seconds, **delta)
        with self._lock:
            self._now += step
            self._mono += step.total_seconds()
            return self._now

    def set(self, moment: datetime) -> datetime:
        """Jump forward to `moment` (never back: monotonic time cannot go back)."""
        with self._lock:
            if moment < self._now:
                raise ValueError("a FakeClock only moves forward")
        return self.advance((moment - self._now).total_seconds())
