"""The cascade for a set of symbols: providers in order → fresh cache → stale cache → error.

Symbols travel together: the whole pending set goes to a provider (which may batch them), only
the symbols it failed go on to the next, only those still missing are looked up in the cache
(one ``get_many``), and only those get an error. A symbol a provider says does not exist stops
there — no fall-over — but a cached entry may still be served.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial

from ..cache.base import CacheBackend, CacheEntry
from ..config import Settings, format_duration
from ..errors import (
    CircuitOpenError,
    DeadlineExceededError,
    ProviderUnavailableError,
    ResilientProviderError,
    SymbolNotFoundError,
    ThrottledError,
    UpstreamCoolingError,
)
from ..logs import describe_symbols, get_logger
from ..result import Attempt, DataSource, FetchResult
from ..stats import ReliabilityStats
from .cached_contract import trusted_entries
from .freshness import Freshness, FreshnessRule
from .guarded import GuardedProvider, StepResult
from .timeouts import Deadline

log = get_logger(__name__)

_SKIP_CODES = frozenset({CircuitOpenError.code, DeadlineExceededError.code, ThrottledError.code,
                         UpstreamCoolingError.code})
_READ_THROUGH = (Attempt("cache", "success", "fresh entry (read-through)"),)


class Cascade:
    """Walks the fallback chain for symbols and returns one tagged :class:`FetchResult` each."""

    def __init__(self, providers: Sequence[GuardedProvider], cache: CacheBackend,
                 settings: Settings, *, clock: Callable[[], float],
                 stats: ReliabilityStats) -> None:
        self.providers = tuple(providers)
        self.cache = cache
        self.settings = settings
        self._clock = self.clock = clock
        self._stats = stats
        self._freshness = FreshnessRule.from_settings(settings.cache)

    def serve_fresh(self, symbols: Sequence[str], *, record: bool = True,
                    fetched_since: float | None = None) -> dict[str, FetchResult]:
        """Answers for those of ``symbols`` that have a fresh cache entry, from one ``get_many``;
        the others are left out. No provider is called (the read-through of a request).
        ``record=False`` leaves counting them as requests to the caller (as for :meth:`walk`);
        ``fetched_since`` (the clock's time) serves only entries fetched from then on."""
        started = time.perf_counter()
        cached = self._cache_get(symbols)
        now = self._clock()
        latency_ms = (time.perf_counter() - started) * 1000.0
        served: dict[str, FetchResult] = {}
        for symbol, entry in cached.items():
            if fetched_since is not None and entry.fetched_at < fetched_since:
                continue
            if self._freshness.judge(entry, now) is Freshness.FRESH:
                served[symbol] = FetchResult(
                    symbol=symbol, source=DataSource.CACHE_FRESH, data=entry.data,
                    provider=entry.provider, fetched_at=entry.fetched_at,
                    age_s=entry.age_s(now), latency_ms=latency_ms, attempts=_READ_THROUGH)
        if served and record:
            self._stats.record_request(DataSource.CACHE_FRESH, len(served))
        return served

    def walk(self, symbols: Sequence[str], *,
             skip_backoff: Callable[[], bool] | None = None,
             record: bool = True) -> dict[str, FetchResult]:
        """The chain for ``symbols`` (validated, distinct): providers in order, then the cache
        for those still missing, then an error for those still missing.

        ``skip_backoff`` (a batch passes it) says whether waiting has stopped paying: while it
        returns True, a provider's retriable failures go on to the next provider at once, if
        that one's breaker is closed, instead of waiting out a retry backoff. The batch's last
        chunks use it: their backoffs would overlap no other work, so each would add its whole
        length to the batch.

        ``record=False`` leaves counting the answers as requests to the caller: a batch's
        chunk may put an answer back in line (see :class:`~.chunk_feed.PacedChunks`), and only
        a symbol's final answer is a request answered.
        """
        started = time.perf_counter()
        deadline = Deadline(self.settings.deadline_s, self._clock)
        trace: dict[str, list[Attempt]] = {s: [] for s in symbols}
        errors: dict[str, list[ResilientProviderError]] = {s: [] for s in symbols}
        answers: dict[str, tuple[DataSource, CacheEntry, float]] = {}
        answered_ms: dict[str, float] = {}  # a provider's answer: when it was ready, per symbol

        pending = list(symbols)
        steps: dict[str, StepResult] = {}
        chain = self.providers if self.settings.enable_fallback else self.providers[:1]
        for index, provider in enumerate(chain):
            if not pending:
                break
            if index:
                cause = _fall_over_cause(chain[index - 1].name,
                                         [steps[s] for s in pending if s in steps])
                log.info("falling over to %s for %s: %s", provider.name,
                         describe_symbols(pending), cause)
            later = chain[index + 1] if index + 1 < len(chain) else None
            steps = self._held_while_cooling(provider, pending)
            asked = [s for s in pending if s not in steps]
            step_started_ms = (time.perf_counter() - started) * 1000.0
            if asked:
                steps.update(provider.fetch(asked, deadline, skip_backoff=(
                    None if skip_backoff is None or later is None
                    else partial(_skip_backoff_to, later, skip_backoff)), hand_on_429=any(
                        p.upstream is not None and p.upstream is provider.upstream
                        for p in chain[index + 1:])))
            source = DataSource.PRIMARY if index == 0 else DataSource.FALLBACK
            fetched_at = self._clock()
            fresh: dict[str, CacheEntry] = {}
            for symbol, step in steps.items():
                trace[symbol].append(_attempt(provider.name, step))
                if step.data is not None:
                    fresh[symbol] = CacheEntry(step.data, fetched_at, provider.name)
                    answers[symbol] = (source, fresh[symbol], 0.0)
                    answered_ms[symbol] = step_started_ms + step.latency_ms
                elif step.error is not None:
                    errors[symbol].append(step.error)
            self._cache_set_many(fresh)
            pending = [s for s in pending if s not in answers
                       and not any(isinstance(e, SymbolNotFoundError) for e in errors[s])]
        for provider in self.providers[len(chain):]:
            for symbol in symbols:
                if symbol not in answers:
                    trace[symbol].append(Attempt(provider.name, "skipped", "fallback disabled"))

        missing = [s for s in symbols if s not in answers]
        if missing:
            answers.update(self._from_cache(missing, self._cache_get(missing), trace))

        latency_ms = (time.perf_counter() - started) * 1000.0
        results: dict[str, FetchResult] = {}
        for symbol in symbols:
            attempts = tuple(trace[symbol])
            if symbol in answers:
                source, entry, age_s = answers[symbol]
                result = FetchResult(
                    symbol=symbol, source=source, data=entry.data, provider=entry.provider,
                    fetched_at=entry.fetched_at, age_s=age_s,
                    is_stale=source is DataSource.CACHE_STALE,
                    latency_ms=answered_ms.get(symbol, latency_ms), attempts=attempts)
            else:
                error = _final_error(symbol, errors[symbol], attempts)
                log.warning("no data for %s: %s", symbol, error.message)
                result = FetchResult(symbol=symbol, source=DataSource.ERROR, error=error,
                                     latency_ms=latency_ms, attempts=attempts)
            results[symbol] = result
        if record:
            self._stats.record_answers(results.values())
        return results

    def _held_while_cooling(self, provider: GuardedProvider,
                            symbols: Sequence[str]) -> dict[str, StepResult]:
        """The symbols not to send to ``provider`` because its upstream is cooling down after a
        429 and the cache can answer them (fresh, or stale where stale answers are served):
        waiting, or falling over to another provider on the same refusing host, would only
        prolong the block. The others are asked; their requests wait out the cool-down in the
        upstream's gate when the deadline allows, else are refused at once."""
        upstream = provider.upstream
        cooling_s = upstream.cooling_for_s() if upstream is not None else 0.0
        if upstream is None or cooling_s <= 0:
            return {}
        now = self._clock()
        servable = (Freshness.FRESH, Freshness.STALE) if self.settings.enable_stale_cache \
            else (Freshness.FRESH,)
        held = [symbol for symbol, entry in self._cache_get(symbols).items()
                if self._freshness.judge(entry, now) in servable]
        if not held:
            return {}
        self._stats.record_skip(provider.name, UpstreamCoolingError.code, len(held))
        error = UpstreamCoolingError(
            f"skipped, {upstream.name} is cooling down after HTTP 429 ({cooling_s:.1f}s more); "
            "a cached answer is served instead", cooling_for_s=cooling_s, provider=provider.name)
        return {symbol: StepResult(None, error, 0.0, 0) for symbol in held}

    def _from_cache(self, symbols: Sequence[str], cached: dict[str, CacheEntry],
                    trace: dict[str, list[Attempt]],
                    ) -> dict[str, tuple[DataSource, CacheEntry, float]]:
        """Serve what the cache may serve for ``symbols``; note in the trace why not otherwise."""
        now = self._clock()
        max_stale_age = format_duration(self._freshness.max_stale_age_s)
        served: dict[str, tuple[DataSource, CacheEntry, float]] = {}
        for symbol in symbols:
            entry = cached.get(symbol)
            if entry is None:
                trace[symbol].append(Attempt("cache", "miss", "no entry"))
                continue
            age_s = entry.age_s(now)
            age = format_duration(age_s)
            freshness = self._freshness.judge(entry, now)
            if freshness is Freshness.FRESH:
                served[symbol] = (DataSource.CACHE_FRESH, entry, age_s)
                trace[symbol].append(Attempt("cache", "success", f"fresh entry, {age} old"))
            elif freshness is Freshness.TOO_OLD:
                trace[symbol].append(Attempt("cache", "miss", f"entry too old ({age}, "
                                             f"max_stale_age {max_stale_age})"))
            elif not self.settings.enable_stale_cache:
                trace[symbol].append(Attempt("cache", "skipped",
                                             f"stale entry ({age}) not served: stale cache off"))
            else:
                served[symbol] = (DataSource.CACHE_STALE, entry, age_s)
                trace[symbol].append(Attempt("cache", "success", f"stale entry, {age} old"))
        return served

    # A failing cache is logged and skipped: it must never turn an answer into an error, and a
    # backend may raise anything (sqlite, OS, network errors), hence the broad catches.

    def _cache_get(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        try:
            found = self.cache.get_many(symbols)
        except Exception as exc:  # noqa: BLE001 - see above
            self._stats.record_cache_error("get")
            log.warning("cache read failed for %s, skipped: %s: %s", describe_symbols(symbols),
                        type(exc).__name__, exc)
            return {}
        return trusted_entries(found, self._clock())

    def _cache_set_many(self, entries: dict[str, CacheEntry]) -> None:
        if not entries:
            return
        try:
            self.cache.set_many(entries)
        except Exception as exc:  # noqa: BLE001 - see above
            self._stats.record_cache_error("set")
            providers = sorted({e.provider for e in entries.values()})
            log.warning("cache write failed for %s, skipped: %s: %s (data from %s)",
                        describe_symbols(list(entries)), type(exc).__name__, exc,
                        ", ".join(providers))


def _skip_backoff_to(later: GuardedProvider, skip_backoff: Callable[[], bool]) -> bool:
    """Skip a backoff only when ``skip_backoff`` says so and ``later`` would take the call."""
    return skip_backoff() and later.accepting_calls()


def _fall_over_cause(previous: str, steps: Sequence[StepResult]) -> str:
    """Why ``previous`` left these symbols to the next provider: its error codes (the message
    too for one symbol) and how many attempts it made, or that it was skipped."""
    codes = Counter(s.error.code for s in steps if s.error is not None)
    counted = ", ".join(code if n == 1 else f"{code} for {n} symbols"
                        for code, n in codes.most_common())
    if len(steps) == 1 and steps[0].error is not None:
        counted = f"{steps[0].error.code} ({steps[0].error.message[:200]})"
    if set(codes) <= _SKIP_CODES:
        return f"{previous} skipped: {counted}"
    attempts = 1 + max((s.retries for s in steps), default=0)
    return f"{previous} failed with {counted} after {attempts} attempt(s)"


def _attempt(provider: str, step: StepResult) -> Attempt:
    latency_ms = round(step.latency_ms, 3)
    if step.error is None:
        return Attempt(provider, "success", "served", latency_ms=latency_ms, retries=step.retries,
                       retried_codes=step.retried_codes)
    detail = step.error.message
    if step.retries:
        detail += f" (after {step.retries + 1} attempts)"
    outcome = "skipped" if step.error.code in _SKIP_CODES else "error"
    return Attempt(provider, outcome, detail, step.error.code, latency_ms, step.retries,
                   step.retried_codes)


def _final_error(symbol: str, errors: list[ResilientProviderError],
                 attempts: tuple[Attempt, ...]) -> ResilientProviderError:
    """The error that explains a total failure across all providers, with every step's
    account as message. The precedence (the README's "Errors" section):

    1. ``symbol_not_found`` only when every provider the walk reached said so (in practice the
       first one asked, as a not-found ends the walk; providers after it are not reached);
    2. else the last provider really called that failed for another reason (network, timeout,
       429, 5xx, data contract): a provider that lacks the symbol after the ones that know it
       failed does not make it unknown;
    3. else the last skip (circuit open, deadline, throttled, upstream cooling): a provider
       that could not be asked has not said the symbol is unknown either.
    """
    message = "; ".join(f"{a.step}: {a.detail}" for a in attempts) or "no providers configured"
    failures = [e for e in errors if not isinstance(e, SymbolNotFoundError)]
    chosen = (next((e for e in reversed(failures) if e.code not in _SKIP_CODES), None)
              or (failures[-1] if failures else None)
              or (errors[-1] if errors else None))
    final = (chosen.with_message(message) if chosen is not None
             else ProviderUnavailableError(message))
    final.symbol = symbol
    return final
