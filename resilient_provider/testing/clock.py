"""A clock that tests (and the demo) move by hand."""

from __future__ import annotations

import threading


class FakeClock:
    """Epoch seconds that only move when told; ``sleep`` advances instead of waiting.

    Pass it as ``ResilientProvider(clock=FakeClock())``: ages, breakers, retry waits and the
    deadline's bookkeeping then follow it, and no test sleeps for real.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards (seconds={seconds!r})")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Record the wait and advance by it, returning at once."""
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
