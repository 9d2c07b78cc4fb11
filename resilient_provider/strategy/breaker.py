"""A circuit breaker per provider: CLOSED → OPEN → HALF_OPEN → CLOSED.

Our own rather than pybreaker, which (as measured, see DESIGN.md) counts only *consecutive*
failures (a steady 50 % failure stream never opens it), counts excluded errors as successes,
holds its lock for the whole guarded call (so every call through one breaker runs one at a
time) and reads the wall clock. This one:

* opens after ``failure_threshold`` provider-health failures within a sliding ``window_s``;
* rejects calls while OPEN, until ``reset_timeout_s`` has passed — or longer when the provider
  sent a ``Retry-After`` (:meth:`CircuitBreaker.hold_open`);
* then lets ``half_open_max_calls`` trial calls through at a time (a trial that never reports
  back frees its slot after ``trial_timeout_s``); ``success_threshold`` successful trials close
  it, one failed trial opens it again;
* never holds its lock while a provider runs: callers take a :class:`Permit`, make the call and
  report the outcome (success, failure, or :meth:`~CircuitBreaker.release` for an outcome that
  says nothing about the provider's health, such as "symbol not found");
* reads time from an injected clock, so tests drive it without sleeping.
"""

from __future__ import annotations

import enum
import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..config import BreakerSettings
from ..logs import get_logger

log = get_logger(__name__)

StateListener = Callable[[str, "BreakerState", "BreakerState"], None]


class BreakerState(enum.StrEnum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one call; hand it back with the call's outcome."""

    id: int
    generation: int
    trial: bool


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """A consistent view of a breaker for statistics."""

    state: str
    failure_count: int
    trips: int
    retry_in_s: float | None
    open_for_s: float | None = None  # time since it left CLOSED (open or half-open), or None


class Breaker(Protocol):
    """What the strategy asks of a breaker: :class:`CircuitBreaker`, or fleet mode's shared
    one (:class:`resilient_provider.shared.breaker.SharedBreaker`)."""

    name: str

    @property
    def state(self) -> BreakerState: ...
    def retry_in_s(self) -> float: ...
    def snapshot(self) -> BreakerSnapshot: ...
    def acquire(self) -> Permit | None: ...
    def record_success(self, permit: Permit) -> None: ...
    def record_failure(self, permit: Permit, *, hold_open_s: float | None = None) -> bool: ...
    def release(self, permit: Permit) -> None: ...
    def hold_open(self, for_s: float) -> bool: ...


class CircuitBreaker:
    """Thread-safe circuit breaker driven by an injectable clock (epoch seconds)."""

    def __init__(
        self,
        name: str,
        settings: BreakerSettings,
        *,
        clock: Callable[[], float],
        trial_timeout_s: float,
        listeners: tuple[StateListener, ...] = (),
    ) -> None:
        self.name = name
        self.settings = settings
        self._clock = clock
        self._trial_timeout_s = trial_timeout_s
        self._listeners = listeners
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._state = BreakerState.CLOSED
        self._generation = 0  # bumped on every transition; stale permits then count for nothing
        self._failures: deque[float] = deque()  # times of failures inside the window (CLOSED)
        self._open_until = 0.0
        self._trials: dict[int, float] = {}  # permit id -> issued at (HALF_OPEN), slot held
        # Trials of this HALF_OPEN period not yet reported: one whose slot timed out still
        # counts when it reports, whether or not another call came in meanwhile.
        self._unreported: set[int] = set()
        self._trial_successes = 0
        self._trips = 0
        self._unhealthy_since: float | None = None  # when it last left CLOSED

    # --- queries -----------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The current state (an OPEN breaker whose time is up reads as HALF_OPEN)."""
        with self._lock:
            return self._current_state(self._clock())

    def retry_in_s(self) -> float:
        """Seconds until an OPEN breaker lets a trial through (0 when not OPEN)."""
        with self._lock:
            now = self._clock()
            if self._current_state(now) is BreakerState.OPEN:
                return max(0.0, self._open_until - now)
            return 0.0

    def snapshot(self) -> BreakerSnapshot:
        """State, failures in the window, trips so far and time to retry."""
        with self._lock:
            now = self._clock()
            state = self._current_state(now)
            self._expire_failures(now)
            return BreakerSnapshot(
                state=state.value,
                failure_count=len(self._failures),
                trips=self._trips,
                retry_in_s=round(self._open_until - now, 3) if state is BreakerState.OPEN else None,
                open_for_s=(round(now - self._unhealthy_since, 3)
                            if self._unhealthy_since is not None else None),
            )

    # --- the call protocol -------------------------------------------------------------------

    def acquire(self) -> Permit | None:
        """A permit to call the provider, or None when the breaker rejects the call."""
        with self._lock:
            now = self._clock()
            state = self._current_state(now)
            if state is BreakerState.CLOSED:
                return Permit(next(self._ids), self._generation, trial=False)
            if state is BreakerState.OPEN:
                return None
            # HALF_OPEN: a trial that never reported back frees its slot after the timeout.
            for permit_id, issued_at in list(self._trials.items()):
                if now - issued_at >= self._trial_timeout_s:
                    del self._trials[permit_id]
            if len(self._trials) >= self.settings.half_open_max_calls:
                return None
            permit = Permit(next(self._ids), self._generation, trial=True)
            self._trials[permit.id] = now
            self._unreported.add(permit.id)
            return permit

    def record_success(self, permit: Permit) -> None:
        """The permitted call succeeded."""
        with self._lock:
            if not self._is_current_trial(permit):
                return  # CLOSED successes change nothing; stale permits count for nothing
            self._report_trial(permit)
            self._trial_successes += 1
            if self._trial_successes >= self.settings.success_threshold:
                self._transition(BreakerState.CLOSED, self._clock())

    def record_failure(self, permit: Permit, *, hold_open_s: float | None = None) -> bool:
        """The permitted call failed in a way that counts against the provider's health.

        ``hold_open_s`` (a ``Retry-After``) keeps the breaker open at least that long if this
        failure opens it. Returns True if this failure opened the breaker (a failed half-open
        trial if ``permit.trial``, else ``failure_threshold`` failures within ``window_s``):
        of concurrent failures, exactly one opens it.
        """
        with self._lock:
            now = self._clock()
            if permit.generation != self._generation:
                return False
            state = self._current_state(now)
            if state is BreakerState.HALF_OPEN and permit.trial:
                if not self._is_current_trial(permit):
                    return False  # reported already
                self._open(now, hold_open_s)
                return True
            if state is BreakerState.CLOSED:
                self._failures.append(now)
                self._expire_failures(now)
                if len(self._failures) >= self.settings.failure_threshold:
                    self._open(now, hold_open_s)
                    return True
            return False

    def release(self, permit: Permit) -> None:
        """The permitted call ended with an outcome that says nothing about provider health."""
        with self._lock:
            if self._is_current_trial(permit):
                self._report_trial(permit)

    def hold_open(self, for_s: float) -> bool:
        """Open now (if not already) and stay open at least ``for_s`` seconds; True if this
        opened the breaker (False if it was open already and is only held longer).

        Used when a provider asks us to come back later than we are willing to wait.
        """
        with self._lock:
            now = self._clock()
            if self._current_state(now) is BreakerState.OPEN:
                self._open_until = max(self._open_until, now + for_s)
                return False
            self._open(now, for_s)
            return True

    # --- internals (lock held) ---------------------------------------------------------------

    def _current_state(self, now: float) -> BreakerState:
        if self._state is BreakerState.OPEN and now >= self._open_until:
            self._transition(BreakerState.HALF_OPEN, now)
        return self._state

    def _is_current_trial(self, permit: Permit) -> bool:
        return (
            permit.trial
            and permit.generation == self._generation
            and self._state is BreakerState.HALF_OPEN
            and permit.id in self._unreported
        )

    def _report_trial(self, permit: Permit) -> None:
        self._unreported.discard(permit.id)
        self._trials.pop(permit.id, None)  # gone already if its slot timed out

    def _expire_failures(self, now: float) -> None:
        horizon = now - self.settings.window_s
        while self._failures and self._failures[0] <= horizon:
            self._failures.popleft()

    def _open(self, now: float, hold_open_s: float | None) -> None:
        self._open_until = now + max(self.settings.reset_timeout_s, hold_open_s or 0.0)
        self._trips += 1
        self._transition(BreakerState.OPEN, now)

    def _transition(self, new: BreakerState, now: float) -> None:
        old = self._state
        self._state = new
        if new is BreakerState.CLOSED:
            self._unhealthy_since = None
        elif old is BreakerState.CLOSED:
            self._unhealthy_since = now
        self._generation += 1
        self._failures.clear()
        self._trials.clear()
        self._unreported.clear()
        self._trial_successes = 0
        for listener in self._listeners:
            listener(self.name, old, new)


def log_recovery(name: str, old: BreakerState, new: BreakerState) -> None:
    """A listener that logs a breaker letting trials through and closing again (INFO).

    Opening is logged by the failure that opened it (``GuardedProvider``), with its cause.
    """
    if new is BreakerState.HALF_OPEN:
        log.info("%s: circuit %s -> %s: open period over, letting trial calls through",
                 name, old, new)
    elif new is BreakerState.CLOSED:
        log.info("%s: circuit %s -> %s: trial calls succeeded", name, old, new)
