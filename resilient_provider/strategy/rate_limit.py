"""A client-side rate limit per provider: symbols per second, waited for within a bound.

The window accounting is pyrate-limiter's (a sliding-window log in an ``InMemoryBucket``). We
drive the bucket ourselves instead of through its ``Limiter`` because the ``Limiter`` sleeps on
the real clock and leaks from a background thread: here the time comes from the façade's
injectable clock (tests advance a fake one and never sleep), the bucket is leaked on each
acquire, and a wait is always bounded — a permit that does not come in time means "try the
next source", never "block".
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from pyrate_limiter import InMemoryBucket, Rate, RateItem


class RateLimiter:
    """At most ``per_s`` units (symbols) per second, in bursts of up to ``ceil(per_s)``.

    Args:
        per_s: the sustained rate, > 0. Below 1 per second the window stretches instead
            (0.5 means one unit every two seconds).
        clock: epoch seconds.
        sleep: how to wait (the clock's ``sleep`` under test).
        name: for the bucket's items and ``repr``.
    """

    def __init__(self, per_s: float, *, clock: Callable[[], float],
                 sleep: Callable[[float], None], name: str = "provider") -> None:
        if not per_s > 0 or not math.isfinite(per_s):
            raise ValueError(f"per_s must be a finite number > 0, got {per_s!r}")
        self.per_s = per_s
        self.name = name
        self.burst = max(1, math.ceil(per_s))
        self._interval_ms = max(1, round(1000 * self.burst / per_s))
        self._bucket = InMemoryBucket([Rate(self.burst, self._interval_ms)])
        self._clock = clock
        self._sleep = sleep
        # One waiter at a time takes permits, so waiters are served in turn rather than racing
        # (a racing burst would let a later caller overtake one that has waited longest).
        self._turn = threading.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter({self.name!r}, {self.per_s:g}/s)"

    def acquire(self, units: int, *, max_wait_s: float) -> float | None:
        """Take ``units`` permits, waiting at most ``max_wait_s`` in all.

        Returns the seconds this call slept for permits, or ``None`` as soon as it is clear the
        rest would not come in time (permits already taken for part of ``units`` stay spent,
        which only errs on the side of fewer requests).
        """
        if units <= 0:
            return 0.0
        queued_at = time.monotonic()
        if not self._turn.acquire(timeout=max(0.0, max_wait_s)):
            return None
        # Time in line behind other waiters counts against the bound, not as a wait we made.
        max_wait_s -= time.monotonic() - queued_at
        waited = 0.0
        left = units
        try:
            while left:
                # One unit per put: a multi-unit put would wait for room for all of it while
                # part of the window stays unused.
                now_ms = int(self._clock() * 1000)
                self._bucket.leak(now_ms)
                item = RateItem(self.name, now_ms, 1)
                if self._bucket.put(item):
                    left -= 1
                    continue
                wait_ms = self._bucket.waiting(item)  # an int: the in-memory bucket is sync
                assert isinstance(wait_ms, int)
                wait_s = max(1, wait_ms) / 1000.0
                if waited + wait_s > max_wait_s:
                    return None
                self._sleep(wait_s)
                waited += wait_s
            return waited
        finally:
            self._turn.release()
