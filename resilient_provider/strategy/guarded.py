"""One provider behind its retry policy, rate cap and call slots; each call goes through its
breaker (:mod:`.provider_call`), reporting to statistics."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import tenacity

from ..config import ProviderPolicy
from ..errors import (
    DeadlineExceededError,
    ProviderUnavailableError,
    RateLimitError,
    ResilientProviderError,
    ThrottledError,
)
from ..logs import describe_errors, get_logger
from ..providers.answer_times import ANSWER_TIMES, AnswerTimes
from ..providers.protocol import HistoryProvider, Provider
from ..stats import ReliabilityStats
from .breaker import Breaker, BreakerState, CircuitBreaker, log_recovery
from .provider_call import INFO_ASK, Ask, ProviderCall
from .rate_limit import RateLimiter
from .retry import RetryPending, SkipBackoff, build_retrying, is_retriable
from .timeouts import CallRunner, Deadline
from .upstream import UpstreamBudget

log = get_logger(__name__)

T = TypeVar("T")


# No slots: a slotted frozen generic dataclass cannot be built through its alias
# (``Step[X](...)`` sets ``__orig_class__``, which its ``__setattr__`` fails with TypeError).
@dataclass(frozen=True)
class Step(Generic[T]):
    """How one provider ended for one symbol within a request; ``latency_ms`` is the symbol's
    own: from the step's start until its answer was ready (its attempt's end, or earlier when
    the adapter marks it), not the slowest symbol's; ``retried_codes`` are the error codes of
    its earlier attempts for the symbol, which were retried."""

    data: T | None
    error: ResilientProviderError | None
    latency_ms: float
    retries: int
    retried_codes: tuple[str, ...] = ()


#: A step of the info cascade: the data is a canonical info dict.
StepResult = Step[dict[str, Any]]


class GuardedProvider:
    """Calls a :class:`Provider` within its policy: rate limit, breaker, timeout, retries and
    data contract.

    ``slots``, shared by the façade's providers, bounds the provider calls in flight at once
    (``max_concurrent_requests``). A slot is held for the call itself, not for retry backoffs,
    so a request waiting out a backoff leaves its slot to another.
    """

    def __init__(
        self,
        provider: Provider,
        policy: ProviderPolicy,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        rng: random.Random,
        stats: ReliabilityStats,
        slots: threading.Semaphore | None = None,
        upstream: UpstreamBudget | None = None,
        gated: bool = False,
        breaker: Breaker | None = None,
    ) -> None:
        self.provider = provider
        #: The budget of the upstream this provider talks to; ``gated``: every HTTP request of
        #: the provider passes it (built-in adapters), else each call takes one permit.
        self.upstream = upstream
        self._slots = slots
        self._runner = CallRunner(name=f"rp-{provider.name}")
        self.name = str(provider.name)
        self.policy = policy
        self._sleep = sleep
        self._rng = rng
        self._stats = stats
        # Its own breaker, or one given (fleet mode's, shared by every worker).
        self.breaker: Breaker = breaker if breaker is not None else CircuitBreaker(
            self.name, policy.breaker, clock=clock,
            trial_timeout_s=policy.timeout_s, listeners=(log_recovery,),
        )
        self.limiter = (RateLimiter(policy.rate_limit_per_s, clock=clock, sleep=sleep,
                                    name=self.name)
                        if policy.rate_limit_per_s > 0 else None)
        self._one_call = ProviderCall(provider, policy, breaker=self.breaker,
                                      runner=self._runner, stats=stats, upstream=upstream,
                                      gated=gated)

    def fetch(self, symbols: Sequence[str], deadline: Deadline, *,
              skip_backoff: Callable[[], bool] | None = None,
              hand_on_429: bool = False) -> dict[str, StepResult]:
        """Fetch ``symbols``, retrying the retriable failures; one result per symbol.

        ``skip_backoff`` is asked before each retry backoff; when it returns True the symbols
        still failing are given back with their errors at once, for the next source to answer,
        instead of waiting to retry here (a batch's last chunks: see ``Cascade.walk``).
        ``hand_on_429``: a later provider shares this one's upstream, so a 429 is not retried
        here but handed on; that provider's requests wait out the upstream's cool-down, and
        tell an IP block (it is refused too) from this library's own (it is served).
        """
        return self._fetch(symbols, deadline, INFO_ASK, skip_backoff=skip_backoff,
                           hand_on_429=hand_on_429)

    def fetch_history(self, symbols: Sequence[str], deadline: Deadline, *, start: datetime,
                      end: datetime, interval: str,
                      check: Callable[[str, object, str], T | ResilientProviderError],
                      skip_backoff: Callable[[], bool] | None = None,
                      hand_on_429: bool = False) -> dict[str, Step[T]]:
        """Bars of ``symbols`` in ``[start, end)``: :meth:`fetch` for the provider's
        ``fetch_history`` (same rate cap, call slots, breaker, timeout, retries, deadline and
        upstream budget), each answer held to ``check`` (the data contract for bars)."""

        def call(provider: Provider, asked: list[str]) -> object:
            if not isinstance(provider, HistoryProvider):
                raise ProviderUnavailableError(f"{self.name} has no fetch_history",
                                               provider=self.name)
            return provider.fetch_history(asked, start=start, end=end, interval=interval)

        return self._fetch(symbols, deadline, Ask("fetch_history", call, check),
                           skip_backoff=skip_backoff, hand_on_429=hand_on_429)

    def _fetch(self, symbols: Sequence[str], deadline: Deadline, ask: Ask[T], *,
               skip_backoff: Callable[[], bool] | None,
               hand_on_429: bool) -> dict[str, Step[T]]:
        """The retry loop of :meth:`fetch` for the call ``ask`` makes."""
        started = time.perf_counter()
        settled: dict[str, ResilientProviderError | T] = {}
        settled_at: dict[str, float] = {}  # perf_counter() when each symbol's answer was ready
        pending = list(symbols)
        retries = 0
        retried: dict[str, list[str]] = {}
        skipping = SkipBackoff(skip_backoff) if skip_backoff is not None else None

        def before_sleep(state: tenacity.RetryCallState) -> None:
            nonlocal retries
            retries += 1
            self._stats.record_retry(self.name)
            outcome = state.outcome
            failure = outcome.exception() if outcome is not None else None
            failed = failure.errors if isinstance(failure, RetryPending) else {}
            for symbol, error in failed.items():
                retried.setdefault(symbol, []).append(error.code)
            causes = describe_errors(failed)
            log.warning("%s: retry %d of %d in %.2fs for %s; attempt %d of %d failed",
                        self.name, state.attempt_number, self.policy.retry.max_attempts - 1,
                        state.upcoming_sleep, causes, state.attempt_number,
                        self.policy.retry.max_attempts)

        retrying = build_retrying(self.policy.retry, deadline=deadline, rng=self._rng,
                                  sleep=self._sleep, before_sleep=before_sleep,
                                  skip_backoff=skipping)
        try:
            for attempt in retrying:
                with attempt:
                    outcome = self._timed_attempt(pending, deadline, retries + 1, settled_at,
                                                  ask)
                    to_retry = {s: r for s, r in outcome.items()
                                if isinstance(r, ResilientProviderError)
                                and is_retriable(r, self.policy.retry)
                                and not (hand_on_429 and isinstance(r, RateLimitError))}
                    settled.update({s: r for s, r in outcome.items() if s not in to_retry})
                    pending = list(to_retry)
                    if to_retry and self.breaker.state is BreakerState.OPEN:
                        # This call tripped the breaker: waiting to be refused helps nobody.
                        settled.update(to_retry)
                    elif to_retry:
                        raise RetryPending(to_retry)
        except RetryPending as exhausted:
            settled.update(exhausted.errors)
            if skipping is not None and skipping.skipped:
                log.debug("%s: %d symbol(s) go on to the next source now rather than wait out "
                          "a backoff with nothing else to do meanwhile", self.name,
                          len(exhausted.errors))

        ended = time.perf_counter()
        return {
            s: Step(data=None if isinstance(r, ResilientProviderError) else r,
                          error=r if isinstance(r, ResilientProviderError) else None,
                          latency_ms=(settled_at.get(s, ended) - started) * 1000.0,
                          retries=retries,
                          retried_codes=tuple(retried.get(s, ())))
            for s, r in settled.items()
        }

    def _timed_attempt(self, symbols: Sequence[str], deadline: Deadline, number: int,
                       settled_at: dict[str, float], ask: Ask[T],
                       ) -> dict[str, ResilientProviderError | T]:
        """:meth:`_attempt`, noting in ``settled_at`` when each symbol's answer was ready: when
        the adapter marked it (:mod:`~..providers.answer_times`), else at the call's end. A
        later attempt for a symbol overwrites its time: only its last answer counts."""
        times = AnswerTimes()
        token = ANSWER_TIMES.set(times)
        try:
            outcome = self._attempt(symbols, deadline, number, ask)
        finally:
            ANSWER_TIMES.reset(token)
        ended = time.perf_counter()
        for symbol in outcome:
            settled_at[symbol] = min(times.at(symbol) or ended, ended)
        return outcome

    def _attempt(self, symbols: Sequence[str], deadline: Deadline, number: int, ask: Ask[T],
                 ) -> dict[str, ResilientProviderError | T]:
        """One call to the provider for ``symbols``: rate permits, a call slot, then through the
        breaker, all within the deadline."""
        budget_s = deadline.remaining_s()
        if budget_s <= 0.0:
            self._stats.record_skip(self.name, DeadlineExceededError.code, len(symbols))
            return dict.fromkeys(symbols, DeadlineExceededError(
                "skipped, request deadline spent", provider=self.name))
        # Rate permits come before the breaker's: a half-open trial must not sit in the queue.
        if self.limiter is not None:
            waited_s = self.limiter.acquire(len(symbols), max_wait_s=budget_s)
            if waited_s is None:
                self._stats.record_skip(self.name, ThrottledError.code, len(symbols))
                return dict.fromkeys(symbols, ThrottledError(
                    f"skipped, client-side rate limit ({self.limiter.per_s:g}/s) gave no "
                    f"permit within {budget_s:.1f}s", provider=self.name))
            budget_s = deadline.remaining_s()
            if budget_s <= 0.0:
                self._stats.record_skip(self.name, DeadlineExceededError.code, len(symbols))
                return dict.fromkeys(symbols, DeadlineExceededError(
                    "skipped, request deadline spent waiting for rate permits",
                    provider=self.name))
        if self._slots is None:
            return self._one_call.run(symbols, deadline, number, ask)
        if not self._slots.acquire(timeout=budget_s):
            self._stats.record_skip(self.name, DeadlineExceededError.code, len(symbols))
            return dict.fromkeys(symbols, DeadlineExceededError(
                f"skipped, no free call slot (max_concurrent_requests) within {budget_s:.1f}s",
                provider=self.name))
        try:
            return self._one_call.run(symbols, deadline, number, ask)
        finally:
            self._slots.release()

    def accepting_calls(self) -> bool:
        """Whether a call now would go through: the breaker is closed."""
        return self.breaker.state is BreakerState.CLOSED

    def close(self) -> None:
        """Let the idle call threads go; the wrapped provider is its owner's to close."""
        self._runner.close()
