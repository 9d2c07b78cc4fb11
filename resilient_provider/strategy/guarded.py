"""One provider behind its circuit breaker, retry policy and timeout, reporting to statistics."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import tenacity

from ..config import ProviderPolicy
from ..errors import (
    CircuitOpenError,
    DataContractError,
    DeadlineExceededError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    ResilientProviderError,
    ThrottledError,
)
from ..logs import describe_errors, get_logger
from ..providers.protocol import Provider
from ..stats import ReliabilityStats
from .breaker import BreakerState, CircuitBreaker, Permit, log_recovery
from .contract import check_info
from .rate_limit import RateLimiter
from .retry import RetryPending, SkipBackoff, build_retrying, is_retriable
from .timeouts import CallRunner, Deadline

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StepResult:
    """How one provider ended for one symbol within a request."""

    data: dict[str, Any] | None
    error: ResilientProviderError | None
    latency_ms: float
    retries: int


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
    ) -> None:
        self.provider = provider
        self._slots = slots
        self._runner = CallRunner(name=f"rp-{provider.name}")
        self.name = str(provider.name)
        self.policy = policy
        self._sleep = sleep
        self._rng = rng
        self._stats = stats
        self.breaker = CircuitBreaker(
            self.name, policy.breaker, clock=clock,
            trial_timeout_s=policy.timeout_s, listeners=(log_recovery,),
        )
        self.limiter = (RateLimiter(policy.rate_limit_per_s, clock=clock, sleep=sleep,
                                    name=self.name)
                        if policy.rate_limit_per_s > 0 else None)

    def fetch(self, symbols: Sequence[str], deadline: Deadline, *,
              skip_backoff: Callable[[], bool] | None = None) -> dict[str, StepResult]:
        """Fetch ``symbols``, retrying the retriable failures; one result per symbol.

        ``skip_backoff`` is asked before each retry backoff; when it returns True the symbols
        still failing are given back with their errors at once, for the next source to answer,
        instead of waiting to retry here (a batch's last chunks: see ``Cascade.walk``).
        """
        started = time.perf_counter()
        settled: dict[str, ResilientProviderError | dict[str, Any]] = {}
        pending = list(symbols)
        retries = 0
        skipping = SkipBackoff(skip_backoff) if skip_backoff is not None else None

        def before_sleep(state: tenacity.RetryCallState) -> None:
            nonlocal retries
            retries += 1
            self._stats.record_retry(self.name)
            outcome = state.outcome
            failure = outcome.exception() if outcome is not None else None
            causes = describe_errors(failure.errors if isinstance(failure, RetryPending) else {})
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
                    outcome = self._attempt(pending, deadline, retries + 1)
                    to_retry = {s: r for s, r in outcome.items()
                                if isinstance(r, ResilientProviderError)
                                and is_retriable(r, self.policy.retry)}
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

        latency_ms = (time.perf_counter() - started) * 1000.0
        return {
            s: StepResult(data=r if isinstance(r, dict) else None,
                          error=r if isinstance(r, ResilientProviderError) else None,
                          latency_ms=latency_ms, retries=retries)
            for s, r in settled.items()
        }

    def _attempt(self, symbols: Sequence[str], deadline: Deadline, number: int,
                 ) -> dict[str, ResilientProviderError | dict[str, Any]]:
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
            return self._call_through_breaker(symbols, deadline, number)
        if not self._slots.acquire(timeout=budget_s):
            self._stats.record_skip(self.name, DeadlineExceededError.code, len(symbols))
            return dict.fromkeys(symbols, DeadlineExceededError(
                f"skipped, no free call slot (max_concurrent_requests) within {budget_s:.1f}s",
                provider=self.name))
        try:
            return self._call_through_breaker(symbols, deadline, number)
        finally:
            self._slots.release()

    def _call_through_breaker(self, symbols: Sequence[str], deadline: Deadline, number: int,
                              ) -> dict[str, ResilientProviderError | dict[str, Any]]:
        """The call itself, if the breaker lets it through, bounded by the deadline's rest."""
        budget_s = deadline.remaining_s()
        if budget_s <= 0.0:
            self._stats.record_skip(self.name, DeadlineExceededError.code, len(symbols))
            return dict.fromkeys(symbols, DeadlineExceededError(
                "skipped, request deadline spent waiting for rate permits or a call slot",
                provider=self.name))
        permit = self.breaker.acquire()
        if permit is None:
            self._stats.record_skip(self.name, CircuitOpenError.code, len(symbols))
            snapshot = self.breaker.snapshot()  # one consistent read of state and time left
            if snapshot.retry_in_s is not None:
                reason = f"circuit open, {snapshot.retry_in_s:.1f}s until retry"
            else:
                reason = "circuit half-open, trial calls busy"
            return dict.fromkeys(symbols, CircuitOpenError(
                reason, retry_in_s=snapshot.retry_in_s or 0.0, provider=self.name))

        timeout_s = min(self.policy.timeout_s, budget_s)
        started = time.perf_counter()
        answers = self._call(symbols, timeout_s, cut_by_deadline=timeout_s < self.policy.timeout_s)
        latency_ms = (time.perf_counter() - started) * 1000.0

        results: dict[str, ResilientProviderError | dict[str, Any]] = {}
        for symbol in symbols:
            answer = answers.get(symbol) if isinstance(answers, Mapping) else answers
            if answer is None and isinstance(answers, Mapping):
                answer = DataContractError("no answer for the symbol", symbol=symbol,
                                           provider=self.name)
            results[symbol] = (answer if isinstance(answer, ResilientProviderError)
                               else check_info(symbol, answer, provider=self.name))
        self._report(permit, results, latency_ms, number)
        return results

    def _call(self, symbols: Sequence[str], timeout_s: float, *,
              cut_by_deadline: bool) -> Mapping[str, Any] | ResilientProviderError:
        """The provider's answer, or one error standing for every symbol of the call."""
        try:
            answers = self._runner.call(lambda: self.provider.fetch_info(list(symbols)),
                                        timeout_s)
        except TimeoutError:
            if cut_by_deadline:
                return DeadlineExceededError(
                    f"request deadline reached after {timeout_s:.1f}s", provider=self.name)
            return ProviderTimeoutError(f"timeout after {timeout_s:.1f}s", provider=self.name)
        except ResilientProviderError as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - the protocol: anything else means unavailable
            error = ProviderUnavailableError(f"{type(exc).__name__}: {exc}", provider=self.name)
            error.__cause__ = exc
            return error
        if not isinstance(answers, Mapping):
            return DataContractError(
                f"fetch_info returned {type(answers).__name__}, not a mapping", provider=self.name)
        return answers

    def _report(self, permit: Permit,
                results: Mapping[str, ResilientProviderError | dict[str, Any]],
                latency_ms: float, number: int) -> None:
        """Tell the breaker and the statistics how attempt ``number`` went.

        The call is a success for the breaker if any symbol got data, a failure if any symbol
        failed on provider health (and none got data), and neutral otherwise (only unknown
        symbols, or the deadline cut it short). The failure that opens the breaker logs the one
        WARNING line of that event, with its cause; each error's own line is DEBUG, as the
        retry, fall-over and final lines tell the same at INFO and above.
        """
        failed = {s: r for s, r in results.items() if isinstance(r, ResilientProviderError)}
        successes = len(results) - len(failed)
        health_failures = [e for e in failed.values() if e.counts_against_provider]
        if successes:
            self.breaker.record_success(permit)
        elif health_failures:
            self._record_failure(permit, health_failures, failed, number)
        else:
            self.breaker.release(permit)
        self._stats.record_call(self.name, latency_ms=latency_ms, successes=successes,
                                failures=Counter(e.code for e in failed.values()))
        if failed:
            log.debug("%s: attempt %d failed for %s", self.name, number, describe_errors(failed))

    def _record_failure(self, permit: Permit, health_failures: list[ResilientProviderError],
                        failed: Mapping[str, ResilientProviderError], number: int) -> None:
        """Count a failed call against the breaker; if that opens it, say why (once)."""
        retry_after = max((e.retry_after for e in health_failures
                           if isinstance(e, RateLimitError) and e.retry_after is not None),
                          default=None)
        opened = self.breaker.record_failure(permit, hold_open_s=retry_after)
        settings = self.policy.breaker
        count = settings.failure_threshold
        reason = ("a half-open trial call failed" if permit.trial else
                  f"{count} failure{'s' * (count != 1)} within {settings.window_s:g}s")
        # Longer than we will wait: fail over now, rest the provider meanwhile.
        if (retry_after is not None and retry_after > self.policy.retry.max_retry_after_s
                and self.breaker.hold_open(retry_after)):
            opened, reason = True, f"Retry-After {retry_after:g}s is more than we wait"
        if not opened:
            return
        if retry_after is not None and "Retry-After" not in reason:
            reason += f", Retry-After {retry_after:g}s"
        log.warning("%s: circuit open for %.1fs: %s; tripped on attempt %d for %s", self.name,
                    self.breaker.retry_in_s(), reason, number, describe_errors(failed))

    def accepting_calls(self) -> bool:
        """Whether a call now would go through: the breaker is closed."""
        return self.breaker.state is BreakerState.CLOSED

    def close(self) -> None:
        """Let the idle call threads go; the wrapped provider is its owner's to close."""
        self._runner.close()
