"""The adaptive pacing rate of an upstream: a slow start, AIMD, and a memory of the limit.

The rate adapts (AIMD with a slow start and a memory of the limit), between
``min_rate_per_s`` and ``max_rate_per_s``. Once per second in which the budget was used (at
least half the rate's requests were sent) and no 429 came, the rate rises: times
``increase_factor`` until the first 429 of the run (a slow start, like TCP's: an unthrottled
upstream goes from 5/s to 20/s in 2 s); after a 429, by the same factor back to
``safe_share`` of the rate that drew it (the limit as last seen), then by only
``probe_share_per_s`` of it per second,
probing whether the limit moved. A 429 cuts the rate by ``decrease_factor``, once per round
trip: the answers to requests already in flight when it was cut do not cut it again. Plain
AIMD (a fixed step up) was tried first: at 2 requests/s its sawtooth drew a 429 every ~7
requests; coming back fast to just below the last limit and probing slowly above it keeps
429s under 2% from 2 to 20 requests/s (tests/unit/strategy/test_upstream.py). The rate
learned is kept between runs.
"""

from __future__ import annotations

from ..config import UpstreamSettings


class AdaptiveRate:
    """The requests per second an upstream is paced at (see the module docstring).

    Not thread-safe on its own: the budget calls it under its lock.
    """

    def __init__(self, settings: UpstreamSettings, *, start_rate_per_s: float,
                 now: float) -> None:
        self.settings = settings
        self.rate = self._bounded(start_rate_per_s)
        self.min_seen = self.max_seen = self.rate
        self._ceiling: float | None = None  # the rate that drew the last 429 (None: none yet)
        self._window_start = now
        self._window_sent = 0
        self._window_throttled = False

    def sent(self) -> None:
        """A request went out."""
        self._window_sent += 1

    def throttled(self) -> None:
        """A 429 came (an echo or news): this second does not raise the rate."""
        self._window_throttled = True

    def cut(self, *, marks_limit: bool) -> None:
        """A 429 that is news: cut the rate; ``marks_limit`` when it ended a run of successes
        (then the rate it cut is the limit as last seen; a 429 in a storm says nothing)."""
        if marks_limit:
            self._ceiling = self.rate
        self.rate = self._bounded(self.rate * self.settings.decrease_factor)
        self.min_seen = min(self.min_seen, self.rate)

    def adapt(self, now: float) -> None:
        """Once a second: raise the rate if the last second used it and drew no 429."""
        elapsed = now - self._window_start
        if elapsed < 1.0:
            return
        used = self._window_sent >= 0.5 * self.rate * elapsed
        if used and not self._window_throttled:
            self.rate = self._bounded(self._grown())
            self.max_seen = max(self.max_seen, self.rate)
        self._window_start, self._window_sent, self._window_throttled = now, 0, False

    def _grown(self) -> float:
        """The rate after a second that used it without a 429."""
        factor = self.settings.increase_factor
        if self._ceiling is None:  # slow start: no limit seen yet
            return self.rate * factor
        safe = self.settings.safe_share * self._ceiling
        if self.rate < safe:  # fast recovery to just below the limit last seen
            return min(self.rate * factor, safe)
        probed = self.rate + self.settings.probe_share_per_s * self._ceiling
        self._ceiling = max(self._ceiling, probed)  # no 429 up here: the limit has moved
        return probed

    def _bounded(self, rate: float) -> float:
        return min(self.settings.max_rate_per_s, max(self.settings.min_rate_per_s, rate))
