"""One request budget per upstream: adaptive pacing, an in-flight cap and 429 cool-downs.

Yahoo limits requests per client IP, publishes no limit and sends no ``Retry-After``; about 5
requests per second often works, more than ~6 in flight draws 429s, and hammering on earns
soft bans. So every HTTP request to an upstream, from every provider on it, passes one
:class:`UpstreamBudget` (the :class:`~resilient_provider.providers.gate.RequestGate` of the
adapters' sessions), which decides *when* it may go and learns from *how* it was answered:

* **Pacing**: a request goes out ``1/rate`` after the previous one, waiters taking turns, so
  requests go out evenly instead of in bursts. Why our own and not pyrate-limiter's bucket
  (which does our hard caps): its buckets hold fixed rates, and this rate changes on every
  adjustment; an interval read from the rate at each admission is a few lines and exact.
* **The rate adapts** (AIMD with a slow start and a memory of the limit), between
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
* **A 429 cools the upstream**: no request goes out for its ``Retry-After`` when sent, else for
  ``cooldown_s``, doubled with each 429 in a row up to ``max_cooldown_s``; a success resets it.
  A request whose deadline ends before the cool-down does is refused at once with
  ``upstream_cooling``, so the cascade serves the cache instead of waiting in vain.
* **In flight**: at most ``max_in_flight`` requests at once.
* **A provider's own block is not the upstream's**: a 429 to one provider while another on the
  same upstream had a success within ``provider_block_window_s`` (and no failure since) says that
  Yahoo refuses that library (its crumb or browser fingerprint), not the IP. It neither cuts the
  rate nor cools the upstream; :meth:`UpstreamBudget.blames` tells the provider's breaker to
  count it.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from ..config import UpstreamSettings
from ..errors import ThrottledError, UpstreamCoolingError
from ..providers.gate import REQUEST_DEADLINE
from ..stats.upstream_report import UpstreamReport

#: Routes of the cookie and consent pages: their answers say nothing of limits or blocks.
_HANDSHAKE_ROUTES = frozenset({"cookie", "consent", "other"})

#: Longest single wait for a slot before the rate is read again (it may have risen).
_RECHECK_S = 0.25

#: How many recent permit waits the statistics keep for percentiles.
_WAIT_SAMPLES = 2000


@dataclass(slots=True)
class Ticket:
    """One admitted request: who sent it, on which route, and when it went out."""

    provider: str
    route: str
    sent_at: float
    waited_s: float
    probe: bool = False


class UpstreamBudget:
    """The shared request budget of upstream ``name`` (see the module docstring).

    Args:
        name: the upstream, e.g. ``"yahoo"``.
        settings: its :class:`~resilient_provider.config.UpstreamSettings`.
        clock: epoch seconds (a fake clock in tests).
        sleep: how to wait (the clock's ``sleep`` in tests).
        start_rate_per_s: the rate to start at (a rate learned by an earlier run); default
            ``settings.initial_rate_per_s``.
    """

    def __init__(self, name: str, settings: UpstreamSettings, *, clock: Callable[[], float],
                 sleep: Callable[[float], None], start_rate_per_s: float | None = None) -> None:
        self.name = name
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        start = settings.initial_rate_per_s if start_rate_per_s is None else start_rate_per_s
        self._rate = self._bounded(start)
        self._min_seen = self._max_seen = self._rate
        self._ceiling: float | None = None  # the rate of the last 429 cut (None: none yet)
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # signalled when a request in flight ends
        self._last_sent = -math.inf  # epoch seconds: when the last request went out
        self._turn = threading.Lock()  # the line of waiters: one waits for the next slot
        self._in_flight = 0
        self._probing = False
        self._providers: set[str] = set()
        self._cooling_until = 0.0
        self._cooldowns_in_a_row = 0
        self._last_cut = -math.inf
        self._window_start = clock()
        self._window_sent = 0
        self._window_throttled = False
        self._last_success: dict[str, float] = {}
        self._last_throttled: dict[str, float] = {}
        self._last_failure: dict[str, float] = {}
        self._by_route: Counter[str] = Counter()
        self._by_provider: Counter[str] = Counter()
        self._rate_limited = 0
        self._provider_blocks = 0
        self._cooldowns = 0
        self._cooling_s = 0.0
        self._cooling_skips = 0
        self._waits: deque[float] = deque(maxlen=_WAIT_SAMPLES)

    # --- the gate -----------------------------------------------------------------------------

    def admit(self, provider: str, route: str) -> Ticket:
        """Wait for this request's turn (and the end of a cool-down), within the request's
        deadline; raise :class:`UpstreamCoolingError` or :class:`ThrottledError` when it would
        come too late.

        Waiters take turns (one lock): only the first in line waits for the next slot, read
        from the rate *now*, so a rate that rises meanwhile shortens the wait, and waiters are
        not woken together into a burst. A probe (see :meth:`_may_probe`) skips the line.
        """
        with self._lock:
            probe = self._may_probe(provider, self._clock())
            self._probing = self._probing or probe
        in_line = False
        try:
            if not probe:
                left = self._time_left()
                in_line = self._turn.acquire(timeout=left if math.isfinite(left) else -1)
                if not in_line:
                    raise ThrottledError(f"{self.name}: no turn to send within the deadline "
                                         f"(paced at {self.rate_per_s:.2f} requests/s)",
                                         provider=provider)
            return self._wait_for_slot(provider, route, probe)
        except BaseException:
            if probe:
                with self._lock:
                    self._probing = False
            raise
        finally:
            if in_line:
                self._turn.release()

    def _wait_for_slot(self, provider: str, route: str, probe: bool) -> Ticket:
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                left = self._time_left()
                cooling = self._cooling_until - now
                if not probe and self._hands_over(provider, now):
                    self._cooling_skips += 1
                    raise UpstreamCoolingError(
                        f"{self.name} refused {provider} with HTTP 429; its other requests "
                        "wait while another provider on the upstream tells an IP block from "
                        f"{provider}'s own", cooling_for_s=max(0.0, cooling), provider=provider)
                if cooling > 0:
                    if cooling > left:
                        self._cooling_skips += 1
                        raise UpstreamCoolingError(
                            f"{self.name} is cooling down after HTTP 429 for {cooling:.1f}s "
                            f"more; the request has {max(0.0, left):.1f}s left",
                            cooling_for_s=cooling, provider=provider)
                    wait = cooling
                else:
                    wait = 0.0 if probe else self._last_sent + 1.0 / self._rate - now
                    if wait > left:
                        raise ThrottledError(
                            f"{self.name}: paced at {self._rate:.2f} requests/s, no slot "
                            f"within the {max(0.0, left):.1f}s the request has left",
                            provider=provider)
                    if wait <= 0:
                        if self._in_flight < self.settings.max_in_flight:
                            return self._take(provider, route, now, waited, probe=probe)
                        if left <= 0:
                            raise ThrottledError(
                                f"{self.name}: no free request slot (max_in_flight "
                                f"{self.settings.max_in_flight}) within the deadline",
                                provider=provider)
                        self._room.wait(timeout=min(left, 1.0))  # real time: others finish
                        continue
                    wait = min(wait, _RECHECK_S)  # the rate may rise meanwhile
            self._sleep(wait)
            waited += wait

    def settle(self, ticket: Ticket, *, status: int | None,
               retry_after_s: float | None = None) -> None:
        """Learn from the answer to ``ticket``'s request: a success raises the rate, a 429
        cuts it and cools the upstream (unless it is the provider's own block)."""
        with self._lock:
            self._in_flight -= 1
            self._room.notify()
            if ticket.probe:
                self._probing = False
            now = self._clock()
            if status == 429:
                self._throttled(ticket, now, retry_after_s)
            elif status is not None and status < 500:
                if ticket.route not in _HANDSHAKE_ROUTES:  # where limits and blocks show
                    self._last_success[ticket.provider] = now
                self._cooldowns_in_a_row = 0
            else:  # no answer, or a 5xx: not a verdict on the pace, but not a healthy provider
                self._last_failure[ticket.provider] = now
            self._adapt(now)

    # --- what the strategy asks ---------------------------------------------------------------

    def cooling_for_s(self) -> float:
        """Seconds the upstream still cools down (0 when it does not)."""
        with self._lock:
            return max(0.0, self._cooling_until - self._clock())

    def blames(self, provider: str) -> bool:
        """Whether ``provider``'s recent 429s are its own block (another provider on this
        upstream succeeded meanwhile), so they count against its breaker."""
        with self._lock:
            return self._is_own_block(provider, self._clock())

    def requests_per_symbol(self, *, default: float) -> float:
        """Requests this upstream answered per symbol its providers were served (counted as
        data-route successes, quoteSummary being one per symbol); ``default`` until some were."""
        with self._lock:
            served = self._by_route.get("quoteSummary", 0)
            total = sum(self._by_route.values())
        return total / served if served >= 10 else default

    @property
    def rate_per_s(self) -> float:
        """The pacing rate now."""
        with self._lock:
            return self._rate

    def snapshot(self) -> UpstreamReport:
        """The budget's figures now."""
        with self._lock:
            waits = sorted(self._waits)
            return UpstreamReport(
                name=self.name, rate_per_s=round(self._rate, 3),
                min_rate_per_s=round(self._min_seen, 3), max_rate_per_s=round(self._max_seen, 3),
                cooling_for_s=round(max(0.0, self._cooling_until - self._clock()), 3),
                in_flight=self._in_flight, requests_by_route=dict(self._by_route),
                requests_by_provider=dict(self._by_provider), rate_limited=self._rate_limited,
                provider_blocks=self._provider_blocks, cooldowns=self._cooldowns,
                cooling_s=round(self._cooling_s, 3), cooling_skips=self._cooling_skips,
                wait_p50_s=_nearest_rank(waits, 50), wait_p95_s=_nearest_rank(waits, 95))

    # --- internals (called with the lock held) ------------------------------------------------

    def add_provider(self, name: str) -> None:
        """Name a provider that sends requests through this budget (so a 429 to one can be
        handed to another to probe, see :meth:`_hands_over`)."""
        with self._lock:
            self._providers.add(name)

    def _heard(self, provider: str) -> float:
        return max(self._last_success.get(provider, -math.inf),
                   self._last_throttled.get(provider, -math.inf),
                   self._last_failure.get(provider, -math.inf))

    def _hands_over(self, provider: str, now: float) -> bool:
        """Whether ``provider``, refused by a 429 in this episode, should stop sending until
        another provider on the upstream, silent since, has probed it: a refused library
        queueing more requests would only delay the answer that tells its own block from
        the IP's."""
        window = self.settings.provider_block_window_s
        if now - self._last_cut > window or self._last_throttled.get(provider, -math.inf) \
                < self._last_cut:
            return False
        return any(other != provider and self._heard(other) < self._last_cut
                   for other in self._providers)

    def _may_probe(self, provider: str, now: float) -> bool:
        """Whether ``provider`` may send a probe ahead of the queue: another provider drew a
        429 within the window and this one has not been heard from since before it."""
        window = self.settings.provider_block_window_s
        if self._probing or now - self._last_cut > window:
            return False
        return now - self._heard(provider) > window and any(
            other != provider and now - at <= window for other, at in self._last_throttled.items())

    def _take(self, provider: str, route: str, now: float, waited: float, *,
              probe: bool = False) -> Ticket:
        self._last_sent = max(self._last_sent, now)
        self._in_flight += 1
        self._window_sent += 1
        self._by_route[route] += 1
        self._by_provider[provider] += 1
        self._waits.append(waited)
        return Ticket(provider, route, now, waited, probe)

    def _throttled(self, ticket: Ticket, now: float, retry_after_s: float | None) -> None:
        self._rate_limited += 1
        self._last_throttled[ticket.provider] = now
        if self._is_own_block(ticket.provider, now):
            self._provider_blocks += 1
            return
        self._window_throttled = True
        # Sent after the last cut: news. The answers to requests already in flight then are
        # echoes of the same refusal: they neither cut the rate again nor lengthen the pause
        # (a Retry-After they carry is still honoured).
        news = ticket.sent_at > self._last_cut
        if news:
            if self._cooldowns_in_a_row == 0:  # the 429 that ended a run of successes
                self._ceiling = self._rate  # marks the limit; one in a storm says nothing
            self._rate = self._bounded(self._rate * self.settings.decrease_factor)
            self._min_seen = min(self._min_seen, self._rate)
            self._last_cut = now
        if retry_after_s is not None:
            pause = min(retry_after_s, self.settings.max_retry_after_s)
        elif news:
            pause = min(self.settings.cooldown_s * 2.0 ** self._cooldowns_in_a_row,
                        self.settings.max_cooldown_s)
            self._cooldowns_in_a_row += 1
        else:
            return
        until = now + pause
        if until > self._cooling_until:
            self._cooling_s += until - max(now, self._cooling_until)
            if self._cooling_until <= now:
                self._cooldowns += 1
            self._cooling_until = until

    def _is_own_block(self, provider: str, now: float) -> bool:
        """``provider`` had no success within the window while another had one and neither a
        429 nor a failure: Yahoo refuses this library, not the IP (a limit on the IP refuses
        some requests of both, and lets some of both through)."""
        window = self.settings.provider_block_window_s
        if now - self._last_success.get(provider, -math.inf) <= window:
            return False
        return any(other != provider and now - at <= window
                   and now - max(self._last_throttled.get(other, -math.inf),
                                 self._last_failure.get(other, -math.inf)) > window
                   for other, at in self._last_success.items())

    def _adapt(self, now: float) -> None:
        """Once a second: raise the rate if the last second used it and drew no 429."""
        elapsed = now - self._window_start
        if elapsed < 1.0:
            return
        used = self._window_sent >= 0.5 * self._rate * elapsed
        if used and not self._window_throttled:
            self._rate = self._bounded(self._grown())
            self._max_seen = max(self._max_seen, self._rate)
        self._window_start, self._window_sent, self._window_throttled = now, 0, False

    def _grown(self) -> float:
        """The rate after a second that used it without a 429."""
        factor = self.settings.increase_factor
        if self._ceiling is None:  # slow start: no limit seen yet
            return self._rate * factor
        safe = self.settings.safe_share * self._ceiling
        if self._rate < safe:  # fast recovery to just below the limit last seen
            return min(self._rate * factor, safe)
        probed = self._rate + self.settings.probe_share_per_s * self._ceiling
        self._ceiling = max(self._ceiling, probed)  # no 429 up here: the limit has moved
        return probed

    def _bounded(self, rate: float) -> float:
        return min(self.settings.max_rate_per_s, max(self.settings.min_rate_per_s, rate))

    def _time_left(self) -> float:
        deadline = REQUEST_DEADLINE.get()
        return math.inf if deadline is None else deadline.remaining_s()


def _nearest_rank(ordered: list[float], pct: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[max(1, math.ceil(len(ordered) * pct / 100)) - 1], 4)
