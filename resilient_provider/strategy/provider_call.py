"""One call to a provider through its circuit breaker, and the verdict on how it went.

The breaker's permit, then (for a provider whose HTTP requests the upstream budget does not
see) one permit of its upstream, the request's deadline put in context for the gates of the
provider's own requests, the call on a timeout-guarded thread, the data contract on each
answer, and the verdict told to the breaker, the upstream and the statistics.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..config import ProviderPolicy
from ..errors import (
    CircuitOpenError,
    DataContractError,
    DeadlineExceededError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    ResilientProviderError,
    UpstreamCoolingError,
)
from ..logs import describe_errors, get_logger
from ..providers.gate import REQUEST_DEADLINE
from ..providers.protocol import Provider
from ..stats import ReliabilityStats
from .breaker import Breaker, Permit
from .contract import check_info
from .timeouts import CallRunner, Deadline
from .upstream import Ticket, UpstreamBudget

log = get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Ask(Generic[T]):
    """What one call asks of a provider: ``fetch(provider, symbols)`` makes the call (the
    protocol method named ``method``), ``check(symbol, answer, provider_name)`` holds each
    symbol's answer to its data contract (the answer, or the error it is)."""

    method: str
    fetch: Callable[[Provider, list[str]], object]
    check: Callable[[str, object, str], T | ResilientProviderError]


def _check_info(symbol: str, answer: object, provider: str,
                ) -> dict[str, Any] | ResilientProviderError:
    return check_info(symbol, answer, provider=provider)


#: Info: ``fetch_info`` and the info data contract (:mod:`.contract`).
INFO_ASK: Ask[dict[str, Any]] = Ask("fetch_info", lambda p, symbols: p.fetch_info(symbols),
                                    _check_info)


class ProviderCall:
    """Calls ``provider`` once through ``breaker`` (see the module docstring).

    ``upstream`` is the budget of the host the provider talks to; ``gated`` says whether every
    HTTP request of the provider passes it already (the built-in adapters), else a call takes
    one permit of it.
    """

    def __init__(self, provider: Provider, policy: ProviderPolicy, *, breaker: Breaker,
                 runner: CallRunner, stats: ReliabilityStats,
                 upstream: UpstreamBudget | None, gated: bool) -> None:
        self.provider = provider
        self.name = str(provider.name)
        self.policy = policy
        self.breaker = breaker
        self.upstream = upstream
        self._runner = runner
        self._stats = stats
        self._gated = gated

    def run(self, symbols: Sequence[str], deadline: Deadline, number: int, ask: Ask[T],
            ) -> dict[str, ResilientProviderError | T]:
        """The call ``ask`` makes, if the breaker lets it through, bounded by the deadline's
        rest."""
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

        # The upstream's gate reads the deadline: the call's own permit (an ungated provider)
        # and each HTTP request of a gated one wait for their turn at most until it.
        token = REQUEST_DEADLINE.set(deadline)
        try:
            ticket = self._admit_call(symbols, permit)
            if isinstance(ticket, ResilientProviderError):
                return dict.fromkeys(symbols, ticket)
            # A gated provider's requests each have the provider's timeout (its session caps
            # them) and may wait in the gate between them: the call is bounded by the deadline.
            budget_s = deadline.remaining_s()  # what the wait for the permit left
            if budget_s <= 0.0:  # the turn came with the deadline: an answer would be late
                if ticket is not None and self.upstream is not None:
                    self.upstream.settle(ticket, status=None)
                self.breaker.release(permit)
                self._stats.record_skip(self.name, DeadlineExceededError.code, len(symbols))
                return dict.fromkeys(symbols, DeadlineExceededError(
                    "skipped, request deadline spent waiting for the upstream's turn",
                    provider=self.name))
            timeout_s = budget_s if self._gated else min(self.policy.timeout_s, budget_s)
            started = time.perf_counter()
            answers = self._call(symbols, ask, timeout_s,
                                 cut_by_deadline=timeout_s < self.policy.timeout_s
                                 or self._gated)
        finally:
            REQUEST_DEADLINE.reset(token)
        latency_ms = (time.perf_counter() - started) * 1000.0
        if ticket is not None and self.upstream is not None:
            refusals = ([answers] if isinstance(answers, RateLimitError) else
                        [a for a in answers.values() if isinstance(a, RateLimitError)]
                        if isinstance(answers, Mapping) else [])
            retry_after_s = max((r.retry_after for r in refusals if r.retry_after is not None),
                                default=None)
            self.upstream.settle(ticket, status=429 if refusals else 200,
                                 retry_after_s=retry_after_s)

        results: dict[str, ResilientProviderError | T] = {}
        for symbol in symbols:
            answer = answers.get(symbol) if isinstance(answers, Mapping) else answers
            if answer is None and isinstance(answers, Mapping):
                answer = DataContractError("no answer for the symbol", symbol=symbol,
                                           provider=self.name)
            results[symbol] = (answer if isinstance(answer, ResilientProviderError)
                               else ask.check(symbol, answer, self.name))
        self._report(permit, results, latency_ms, number)
        return results

    def _admit_call(self, symbols: Sequence[str], permit: Permit,
                    ) -> Ticket | ResilientProviderError | None:
        """For a provider whose HTTP requests the upstream does not see, one permit of its
        upstream per call (None when the requests themselves are gated); the refusal, with the
        breaker's permit given back, when none comes within the deadline."""
        if self._gated or self.upstream is None:
            return None
        try:
            return self.upstream.admit(self.name, "call")
        except ResilientProviderError as refusal:
            self.breaker.release(permit)
            self._stats.record_skip(self.name, refusal.code, len(symbols))
            return refusal

    def _call(self, symbols: Sequence[str], ask: Ask[T], timeout_s: float, *,
              cut_by_deadline: bool) -> Mapping[str, Any] | ResilientProviderError:
        """The provider's answer, or one error standing for every symbol of the call."""
        try:
            answers = self._runner.call(lambda: ask.fetch(self.provider, list(symbols)),
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
                f"{ask.method} returned {type(answers).__name__}, not a mapping",
                provider=self.name)
        return answers

    def _report(self, permit: Permit, results: Mapping[str, object],
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
        health_failures = [e for e in failed.values() if self._counts_against_breaker(e)]
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

    def _counts_against_breaker(self, error: ResilientProviderError) -> bool:
        """A provider-health failure, except a 429 the upstream answers everyone with: that
        cools the upstream (see :mod:`.upstream`) instead of opening this provider's breaker,
        unless it is this provider's own block (another provider on the upstream succeeds);
        a request held back by that block counts too, so the breaker opens on it."""
        if isinstance(error, RateLimitError) and self.upstream is not None:
            return self.upstream.blames(self.name)
        if isinstance(error, UpstreamCoolingError) and error.own_block:
            return True
        return error.counts_against_provider
