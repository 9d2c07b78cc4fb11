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
* **The rate adapts** (:class:`~.pacing.AdaptiveRate`): up while requests succeed, down on a
  429, between ``min_rate_per_s`` and ``max_rate_per_s``; the rate learned is kept between runs.
* **A 429 cools the upstream**: no request goes out for its ``Retry-After`` when sent, else for
  ``cooldown_s``, doubled with each 429 in a row up to ``max_cooldown_s``; a success resets it.
  A request whose deadline ends before the cool-down does is refused at once with
  ``upstream_cooling``, so the cascade serves the cache instead of waiting in vain.
* **In flight**: at most ``max_in_flight`` requests at once.
* **A provider's own block is not the upstream's** (:mod:`.verdicts`): a 429 to one library
  while the other is served says Yahoo refuses that library (its crumb or browser
  fingerprint), not the IP. It neither cuts the rate nor cools the upstream;
  :meth:`UpstreamBudget.blames` tells the provider's breaker to count it.
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
from .pacing import AdaptiveRate
from .verdicts import ProviderVerdicts

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
        self._pace = AdaptiveRate(settings, start_rate_per_s=start, now=clock())
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # signalled when a request in flight ends
        self._last_sent = -math.inf  # epoch seconds: when the last request went out
        self._turn = threading.Lock()  # the line of waiters: one waits for the next slot
        self._in_flight = 0
        self._probing = False
        self._cooling_until = 0.0
        self._cooldowns_in_a_row = 0
        self._last_cut = -math.inf
        self._limit_set_by: str | None = None  # whose 429 set the limit the rate keeps under
        self._verdicts = ProviderVerdicts(settings.provider_block_window_s)
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
        not woken together into a burst. A probe (see :mod:`.verdicts`) skips the line.
        """
        with self._lock:
            probe = not self._probing and self._verdicts.may_probe(
                provider, self._clock(), self._last_cut)
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
                if not probe:
                    self._refuse_by_verdict(provider, now)
                if cooling > 0:
                    if cooling > left:
                        self._cooling_skips += 1
                        raise UpstreamCoolingError(
                            f"{self.name} is cooling down after HTTP 429 for {cooling:.1f}s "
                            f"more; the request has {max(0.0, left):.1f}s left",
                            cooling_for_s=cooling, provider=provider)
                    wait = cooling
                else:
                    wait = 0.0 if probe else self._last_sent + 1.0 / self._pace.rate - now
                    if wait > left:
                        raise ThrottledError(
                            f"{self.name}: paced at {self._pace.rate:.2f} requests/s, no slot "
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

    def _refuse_by_verdict(self, provider: str, now: float) -> None:
        """Refuse a request of a provider blocked on its own, or whose 429 another provider
        on the upstream is telling from an IP block (see :mod:`.verdicts`); lock held."""
        if self._verdicts.blocked(provider, now):
            self._cooling_skips += 1
            raise UpstreamCoolingError(
                f"{self.name} refuses {provider} itself (HTTP 429 to it while another "
                "provider on the upstream is served): not sent; it tries again "
                f"{self.settings.provider_block_window_s:g}s after its last 429",
                cooling_for_s=0.0, provider=provider, own_block=True)
        if self._verdicts.hands_over(provider, now):
            self._cooling_skips += 1
            raise UpstreamCoolingError(
                f"{self.name} refused {provider} with HTTP 429; its other requests wait while "
                f"another provider on the upstream tells an IP block from {provider}'s own",
                cooling_for_s=max(0.0, self._cooling_until - now), provider=provider)

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
                    self._verdicts.success(ticket.provider, now)
                    self._pace.succeeded(ticket.sent_at)
                self._cooldowns_in_a_row = 0
            else:  # no answer, or a 5xx: not a verdict on the pace, but not a healthy provider
                self._verdicts.failure(ticket.provider, now)
            self._pace.adapt(now)

    # --- what the strategy asks ---------------------------------------------------------------

    def cooling_for_s(self) -> float:
        """Seconds the upstream still cools down (0 when it does not)."""
        with self._lock:
            return max(0.0, self._cooling_until - self._clock())

    def blames(self, provider: str) -> bool:
        """Whether ``provider``'s recent 429s are its own block (another provider on this
        upstream succeeded meanwhile), so they count against its breaker."""
        with self._lock:
            return self._verdicts.own_block(provider, self._clock())

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
            return self._pace.rate

    def snapshot(self) -> UpstreamReport:
        """The budget's figures now."""
        with self._lock:
            waits = sorted(self._waits)
            return UpstreamReport(
                name=self.name, rate_per_s=round(self._pace.rate, 3),
                min_rate_per_s=round(self._pace.min_seen, 3),
                max_rate_per_s=round(self._pace.max_seen, 3),
                cooling_for_s=round(max(0.0, self._cooling_until - self._clock()), 3),
                in_flight=self._in_flight, requests_by_route=dict(self._by_route),
                requests_by_provider=dict(self._by_provider), rate_limited=self._rate_limited,
                provider_blocks=self._provider_blocks, cooldowns=self._cooldowns,
                cooling_s=round(self._cooling_s, 3), cooling_skips=self._cooling_skips,
                wait_p50_s=_nearest_rank(waits, 50), wait_p95_s=_nearest_rank(waits, 95))

    # --- internals (called with the lock held) ------------------------------------------------

    def add_provider(self, name: str) -> None:
        """Name a provider that sends requests through this budget (so a 429 to one can be
        handed to another to probe, see :class:`~.verdicts.ProviderVerdicts`)."""
        with self._lock:
            self._verdicts.providers.add(name)

    def _take(self, provider: str, route: str, now: float, waited: float, *,
              probe: bool = False) -> Ticket:
        self._last_sent = max(self._last_sent, now)
        self._in_flight += 1
        self._pace.sent(now)
        self._by_route[route] += 1
        self._by_provider[provider] += 1
        self._waits.append(waited)
        return Ticket(provider, route, now, waited, probe)

    def _throttled(self, ticket: Ticket, now: float, retry_after_s: float | None) -> None:
        self._rate_limited += 1
        confirmed = self._verdicts.throttled(ticket.provider, now, sent_at=ticket.sent_at)
        if self._verdicts.own_block(ticket.provider, now):
            self._provider_blocks += 1
            if confirmed and self._limit_set_by == ticket.provider:  # that 429 was no limit
                self._pace.forget_limit()
                self._limit_set_by = None
            return
        self._pace.throttled()
        # Sent after the last cut: news. The answers to requests already in flight then are
        # echoes of the same refusal: they neither cut the rate again nor lengthen the pause
        # (a Retry-After they carry is still honoured).
        news = ticket.sent_at > self._last_cut
        if news:
            marks_limit = self._cooldowns_in_a_row == 0
            self._pace.cut(marks_limit=marks_limit, sent_at=ticket.sent_at)
            if marks_limit:
                self._limit_set_by = ticket.provider
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

    def _time_left(self) -> float:
        deadline = REQUEST_DEADLINE.get()
        return math.inf if deadline is None else deadline.remaining_s()


def _nearest_rank(ordered: list[float], pct: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[max(1, math.ceil(len(ordered) * pct / 100)) - 1], 4)
