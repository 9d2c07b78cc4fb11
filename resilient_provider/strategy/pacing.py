"""The adaptive pacing rate of an upstream: a slow start, AIMD, and a memory of the limit.

The rate adapts between ``min_rate_per_s`` and ``max_rate_per_s``. Every
``increase_interval_s`` in which the budget was used (at least half the rate's requests were
sent) and no 429 came, the rate rises: times ``increase_factor`` until the first 429 of the run
(a slow start, like TCP's: from 5/s an unthrottled upstream is paced at 80/s within 1.5 s,
so pacing costs a batch about a second); after a 429, by the same factor back to
``safe_share`` of the limit as last seen, then by only ``probe_share_per_s`` of it per second,
probing whether the limit moved.

*The limit as last seen* is what got through, not what we sent: on the 429 that ends a run of
successes, the successes the upstream answered in the second before it (a longer window at low
rates, so it holds a few requests; only since requests last went out back to back, as a client
that paused did not find the limit) measure the limit, and both the ceiling and the cut start
from that measure when it is lower than the rate. A slow start that overshot a limit of 2/s at
5/s or 40/s thus comes back to 1/s and recovers to 1.7/s, instead of halving down over several
429s (each a strike towards a soft ban). A 429 cuts the rate by ``decrease_factor`` once per
round trip: the answers to requests already in flight when it was cut do not cut it again.

Plain AIMD (a fixed step up) was tried first: at 2 requests/s its sawtooth drew a 429 every ~7
requests; coming back fast to just below the measured limit and probing slowly above it keeps
429s under 2% from 2 to 20 requests/s (tests/unit/strategy/test_upstream.py). The rate learned
is kept between runs (:mod:`.rate_memory`).
"""

from __future__ import annotations

import math
from collections import deque

from ..config import UpstreamSettings

#: Successes (their send times) kept to measure the limit when a 429 comes.
_KEPT_SUCCESSES = 1024

#: The window that measures the limit holds about this many requests at the rate (at least 1 s).
_REQUESTS_PER_WINDOW = 4.0

#: A gap of this many pacing intervals between two requests is a pause: the limit is measured
#: only over requests sent back to back since the last one.
_IDLE_GAPS = 2.0

#: Fewer successes than this in the window measure nothing (the first request of a run drew the
#: 429, say): the limit last measured stands, or, before any, the rate that drew it.
_MIN_MEASURED = 2


class AdaptiveRate:
    """The requests per second an upstream is paced at (see the module docstring).

    Not thread-safe on its own: the budget calls it under its lock.
    """

    def __init__(self, settings: UpstreamSettings, *, start_rate_per_s: float,
                 now: float) -> None:
        self.settings = settings
        self.rate = self._bounded(start_rate_per_s)
        self.min_seen = self.max_seen = self.rate
        self._ceiling: float | None = None  # the limit as last seen (None: no 429 yet)
        self._window_start = now
        self._window_sent = 0
        self._window_throttled = False
        self._successes: deque[float] = deque(maxlen=_KEPT_SUCCESSES)
        self._last_sent = -math.inf
        self._busy_since = now  # when requests last started going out back to back
        self._first_sent: float | None = None
        self._rate_before_cut = self.rate

    def sent(self, now: float) -> None:
        """A request went out at ``now``."""
        self._window_sent += 1
        if self._first_sent is None:
            self._first_sent = self._busy_since = now
        elif now - self._last_sent > _IDLE_GAPS / self.rate:
            self._busy_since = now  # after a pause: what got through before it says nothing
        self._last_sent = now

    def succeeded(self, sent_at: float) -> None:
        """A request sent at ``sent_at`` on a route the limit covers was answered."""
        self._successes.append(sent_at)

    def throttled(self) -> None:
        """A 429 came (an echo or news): this interval does not raise the rate."""
        self._window_throttled = True

    def cut(self, *, marks_limit: bool, sent_at: float) -> None:
        """A 429 that is news, to a request sent at ``sent_at``: cut the rate.

        ``marks_limit`` when it ended a run of successes: then what got through before it is
        the limit as last seen (a 429 in a storm says nothing of the limit).
        """
        base = self._rate_before_cut = self.rate
        if marks_limit:
            measured = self._measured_limit(sent_at)
            if measured is not None:
                base = min(base, measured)
                self._ceiling = base
            elif self._ceiling is None or base >= self.settings.decrease_factor * self._ceiling:
                # Too few successes to measure (the first 429 soon after a cool-down, say):
                # the rate that drew it stands for the limit. Keeping the last measure then
                # sent the rate back above the limit after every cut (14% 429s at 5/s).
                self._ceiling = min(base, self._ceiling or math.inf)
            # else: the rate was far below the limit last measured, cut by a storm, and a
            # lone probe answered between its 429s: that limit stands. Taking the storm's cut
            # rate for the limit left the rate crawling at 0.55/s for a minute after a storm.
        self.rate = self._bounded(base * self.settings.decrease_factor)
        self.min_seen = min(self.min_seen, self.rate)

    def forget_limit(self) -> None:
        """The 429 that set the limit turned out to be one provider's own block, not the
        upstream's: back to the rate before its cut, and to the slow start."""
        self._ceiling = None
        self.rate = max(self.rate, self._rate_before_cut)

    def adapt(self, now: float) -> None:
        """Once an interval: raise the rate if the last one used it and drew no 429."""
        elapsed = now - self._window_start
        if elapsed < self.settings.increase_interval_s:
            return
        used = self._window_sent >= 0.5 * self.rate * elapsed
        if used and not self._window_throttled:
            self.rate = self._bounded(self._grown(elapsed))
            self.max_seen = max(self.max_seen, self.rate)
        self._window_start, self._window_sent, self._window_throttled = now, 0, False

    def _measured_limit(self, sent_at: float) -> float | None:
        """Successes per second in the window before ``sent_at``; None when they measure
        nothing: too few, or requests did not go out back to back for the whole window (a
        client that paused sent less than the limit, it did not find it), except at the start
        of the run, where a slow start overshoots within its first second."""
        window_s = max(1.0, _REQUESTS_PER_WINDOW / self.rate)
        if sent_at - self._busy_since < window_s and self._busy_since != self._first_sent:
            return None
        count = sum(1 for t in self._successes if sent_at - window_s < t <= sent_at)
        return count / window_s if count >= _MIN_MEASURED else None

    def _grown(self, elapsed: float) -> float:
        """The rate after ``elapsed`` seconds that used it without a 429."""
        factor = self.settings.increase_factor
        if self._ceiling is None:  # slow start: no limit seen yet
            return self.rate * factor
        safe = self.settings.safe_share * self._ceiling
        if self.rate < safe:  # fast recovery to just below the limit last seen
            return min(self.rate * factor, safe)
        probed = self.rate + self.settings.probe_share_per_s * self._ceiling * elapsed
        self._ceiling = max(self._ceiling, probed)  # no 429 up here: the limit has moved
        return probed

    def _bounded(self, rate: float) -> float:
        return min(self.settings.max_rate_per_s, max(self.settings.min_rate_per_s, rate))
