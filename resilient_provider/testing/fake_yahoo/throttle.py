"""Yahoo's hidden per-client request limit, modelled: how the fake Yahoo refuses a busy client.

What Yahoo is reported to do (DESIGN.md, "Known realities → Throttling"): it publishes no limit
and sends no ``Retry-After``; past the limit it answers ``429`` with a plain-text ``Too Many
Requests``; about 5 requests a second often works, more than ~6 in flight draws 429s, and a
client that keeps hammering earns a soft ban that outlasts the burst. The pieces here model
that, one small frozen object per idea, combined by :meth:`FakeYahooServer.throttle`:

* a limit — :class:`SlidingWindow` (N admitted requests in any W seconds) or
  :class:`TokenBucket` (r per second, bursts of b);
* :class:`PenaltyBox` on top: N throttle 429s within M seconds put the client in the box, and
  for T seconds every request it sends on the throttled routes is refused, whatever the limit
  says;
* a cap on requests in flight.

A client is a source address (on loopback every client is 127.0.0.1: one IP, which is the
point — both libraries share the budget). Only admitted requests use up the limit; a refusal
costs the client nothing but a penalty-box strike. Time comes from the server's clock.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from .answers import TEXT, Answer
from .faults import DATA_ROUTES, RATE_LIMIT_BODY, ROUTES, parse_routes

log = logging.getLogger(__name__)

#: Routes a throttle covers by default: the data routes and the crumb, which Yahoo's per-client
#: limit is reported to cover (the cookie and consent pages are other hosts).
THROTTLED_ROUTES = ("crumb", *DATA_ROUTES)

#: Slack for float sums of clock steps (0.1 + 0.2 is not 0.3): near an epoch value (1.8e9) each
#: step of a fake clock rounds by up to ~1.2e-7 s, so a tenth of a millisecond absorbs hundreds
#: of steps and is still far below anything Yahoo's limit could be counting.
_EPSILON = 1e-4


def _positive(name: str, value: float, *, integer: bool = False) -> None:
    wrong_type = isinstance(value, bool) or not isinstance(value, int if integer else int | float)
    if wrong_type or not value > 0 or math.isinf(value):
        kind = "an int >= 1" if integer else "a finite number > 0"
        raise ValueError(f"{name} must be {kind}, got {value!r}")


class Meter(Protocol):
    """One client's state under a limit."""

    def admit(self, now: float) -> bool:
        """Whether a request arriving at ``now`` is within the limit (if so, it is counted)."""
        ...


class Limit(Protocol):
    """A limit model: settings plus one method making a client's :class:`Meter`."""

    @property
    def kind(self) -> str:
        """The model's name, logged as the reason of its refusals."""
        ...

    def meter(self) -> Meter:
        """A fresh meter for one client."""
        ...


@dataclass(frozen=True)
class SlidingWindow:
    """At most ``requests`` admitted requests in any ``window_s`` seconds (a sliding log)."""

    requests: int
    window_s: float = 1.0

    def __post_init__(self) -> None:
        _positive("requests", self.requests, integer=True)
        _positive("window_s", self.window_s)

    @property
    def kind(self) -> str:
        """``"sliding_window"``."""
        return "sliding_window"

    def meter(self) -> Meter:
        """A client's log of admission times."""
        return _WindowMeter(self)


class _WindowMeter:
    def __init__(self, limit: SlidingWindow) -> None:
        self._limit = limit
        self._admitted: deque[float] = deque()

    def admit(self, now: float) -> bool:
        horizon = now - self._limit.window_s + _EPSILON
        while self._admitted and self._admitted[0] < horizon:
            self._admitted.popleft()
        if len(self._admitted) >= self._limit.requests:
            return False
        self._admitted.append(now)
        return True


@dataclass(frozen=True)
class TokenBucket:
    """``rate_per_s`` requests a second on average, bursts of up to ``burst`` (default: one
    second's worth, at least 1). The bucket starts full."""

    rate_per_s: float
    burst: int | None = None

    def __post_init__(self) -> None:
        _positive("rate_per_s", self.rate_per_s)
        if self.burst is not None:
            _positive("burst", self.burst, integer=True)

    @property
    def capacity(self) -> int:
        """The bucket's size: ``burst``, or one second's worth of tokens."""
        return self.burst if self.burst is not None else max(1, math.ceil(self.rate_per_s))

    @property
    def kind(self) -> str:
        """``"token_bucket"``."""
        return "token_bucket"

    def meter(self) -> Meter:
        """A client's bucket, full."""
        return _BucketMeter(self)


class _BucketMeter:
    def __init__(self, limit: TokenBucket) -> None:
        self._rate = limit.rate_per_s
        self._capacity = float(limit.capacity)
        self._tokens = self._capacity
        self._last: float | None = None

    def admit(self, now: float) -> bool:
        if self._last is not None and now > self._last:
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now if self._last is None else max(self._last, now)
        if self._tokens < 1 - _EPSILON:
            return False
        self._tokens = max(0.0, self._tokens - 1)
        return True


@dataclass(frozen=True)
class PenaltyBox:
    """Yahoo's soft ban: ``strikes`` throttle 429s within ``within_s`` seconds, and the client
    gets 429 for every throttled request during the next ``ban_s`` seconds.

    Refusals during the ban are not strikes (the ban does not extend itself); when it ends the
    client starts with a clean record.
    """

    strikes: int
    within_s: float
    ban_s: float

    def __post_init__(self) -> None:
        _positive("strikes", self.strikes, integer=True)
        _positive("within_s", self.within_s)
        _positive("ban_s", self.ban_s)


@dataclass
class _Client:
    meter: Meter | None
    in_flight: int = 0
    strikes: deque[float] = field(default_factory=deque)
    banned_until: float | None = None


class Throttle:
    """A fake Yahoo's live per-client limit; :meth:`FakeYahooServer.throttle` makes one.

    Raises ValueError naming a bad argument (it needs a limit, a cap in flight, or both).
    """

    def __init__(self, limit: Limit | None = None, *, penalty: PenaltyBox | None = None,
                 max_in_flight: int | None = None,
                 routes: str | Iterable[str] = THROTTLED_ROUTES,
                 retry_after_s: float | None = None, body: str = RATE_LIMIT_BODY,
                 clock: Callable[[], float]) -> None:
        if limit is None and max_in_flight is None:
            raise ValueError("a throttle needs a limit (SlidingWindow, TokenBucket), "
                             "max_in_flight, or both")
        if max_in_flight is not None:
            _positive("max_in_flight", max_in_flight, integer=True)
        if retry_after_s is not None and (not retry_after_s >= 0 or math.isinf(retry_after_s)):
            raise ValueError(f"retry_after_s must be a finite number >= 0, got {retry_after_s!r}")
        covered = parse_routes(routes)
        self.limit = limit
        self.penalty = penalty
        self.max_in_flight = max_in_flight
        self.routes = frozenset(ROUTES) if "any" in covered else covered
        headers = () if retry_after_s is None else (
            ("Retry-After", str(math.ceil(retry_after_s))),)
        self.answer = Answer(429, body.encode(), TEXT, headers)
        self._clock = clock
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    def covers(self, route: str) -> bool:
        """Whether requests to ``route`` are throttled."""
        return route in self.routes

    @contextmanager
    def admission(self, client: str, route: str) -> Iterator[str | None]:
        """Decide on one request: yields None if admitted, else the reason it is refused
        (the limit's kind, ``"in_flight"`` or ``"penalty_box"``).

        An admitted request on a throttled route counts as in flight until the block ends.
        """
        if not self.covers(route):
            yield None
            return
        reason = self._admit(client)
        try:
            yield reason
        finally:
            if reason is None:
                with self._lock:
                    self._clients[client].in_flight -= 1

    def _admit(self, client: str) -> str | None:
        with self._lock:
            now = self._clock()
            state = self._clients.get(client)
            if state is None:
                state = self._clients[client] = _Client(
                    self.limit.meter() if self.limit is not None else None)
            if state.banned_until is not None:
                if now < state.banned_until:
                    return "penalty_box"
                state.banned_until = None
            reason: str | None = None
            if self.max_in_flight is not None and state.in_flight >= self.max_in_flight:
                reason = "in_flight"  # checked first: a refused request takes no token
            elif self.limit is not None and state.meter is not None \
                    and not state.meter.admit(now):
                reason = self.limit.kind
            if reason is None:
                state.in_flight += 1
            elif self.penalty is not None:
                self._strike(client, state, self.penalty, now)
            return reason

    @staticmethod
    def _strike(client: str, state: _Client, penalty: PenaltyBox, now: float) -> None:
        state.strikes.append(now)
        horizon = now - penalty.within_s + _EPSILON
        while state.strikes and state.strikes[0] < horizon:
            state.strikes.popleft()
        if len(state.strikes) >= penalty.strikes:
            state.strikes.clear()
            state.banned_until = now + penalty.ban_s
            log.info("fake Yahoo: %s earned the penalty box for %.0f s", client, penalty.ban_s)
