"""The cascade for price history: providers with ``fetch_history`` in order → cache (fresh,
then stale) → tagged error, through the same guard as info.

Per symbol, the cache is read first: what it vouches for (:mod:`.coverage`) is not fetched
again, only the missing ranges are -- typically the tail since the last fetch. Symbols missing
the same range go to a provider in one call; a (symbol, range) it fails goes on to the next
provider, and one it answers is held to the data contract for bars (:mod:`.contract`: a
partial answer is a failure that falls over) and merged into the cache. A range that brings a
split or dividend the cached bars before it do not know makes those bars outdated (their
split-adjusted prices, their ``adj_close``): they are dropped and fetched again in the same
walk. Each call passes the provider's breaker, retries, timeout, the request's deadline and
the upstream budget (:meth:`~resilient_provider.strategy.guarded.GuardedProvider.fetch_history`).
When a missing range is left unanswered, the cached bars in the range are served as
``cache_stale`` (if ``enable_stale_cache``), else the answer is an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import OfflineNoCacheError, ResilientProviderError, SymbolNotFoundError
from ..logs import get_logger
from ..providers.protocol import HistoryProvider
from ..result import Attempt, DataSource, FetchResult
from ..stats import ReliabilityStats
from ..strategy.cascade import _final_error
from ..strategy.guarded import GuardedProvider, Step
from ..strategy.offline import OFFLINE_STEP
from ..strategy.timeouts import Deadline
from .adjust import adjust_bars
from .bars import empty_bars, with_index_unit
from .contract import BarRange, check_bars
from .coverage import (
    Range,
    Segment,
    fresh_for_s,
    merge_bars,
    merge_segments,
    missing_ranges,
    newest_overlap,
)
from .intervals import INTERVAL_SECONDS
from .request import HistoryRequest
from .result import HistoryResult
from .store import CachedBars, HistoryStore

if TYPE_CHECKING:
    import pandas as pd

log = get_logger(__name__)

_SKIP_CODES = frozenset({"circuit_open", "deadline_exceeded", "throttled", "upstream_cooling"})


class HistoryCascade:
    """Walks the history chain for symbols (validated, distinct) and one request."""

    def __init__(self, providers: Sequence[GuardedProvider], store: HistoryStore,
                 settings: Settings, *, clock: Callable[[], float],
                 stats: ReliabilityStats) -> None:
        self.providers = tuple(g for g in providers if isinstance(g.provider, HistoryProvider))
        self.without_history = tuple(g.name for g in providers if g not in self.providers)
        self.store = store
        self.settings = settings
        self._clock = clock
        self._stats = stats

    def fetch(self, symbols: Sequence[str], request: HistoryRequest) -> dict[str, HistoryResult]:
        """One tagged :class:`HistoryResult` per symbol."""
        started = time.perf_counter()
        now = self._clock()
        # A range up to now is up to *this* now (the request was resolved a moment ago: a
        # tail of a few milliseconds would otherwise be missing on every ask).
        start_s = request.start_s
        end_s = now if request.to_now else min(request.end_s, now)
        interval = request.interval
        fresh_for = fresh_for_s(interval, self.settings.history.forming_fresh_for)
        cached = {s: self._read(s, interval) for s in symbols}
        pending = {s: missing_ranges(cached[s].segments, start_s, end_s, now=now,
                                     fresh_for=fresh_for) for s in symbols}
        fetched = {s for s in symbols if pending[s]}
        trace: dict[str, list[Attempt]] = {s: [] for s in symbols}
        errors: dict[str, list[ResilientProviderError]] = {s: [] for s in symbols}
        served_by: dict[str, tuple[int, str, float]] = {}
        offline = self.settings.offline  # the cache alone answers, as for info
        for symbol in symbols if offline else ():  # every trace says why no provider shows
            trace[symbol].append(OFFLINE_STEP)
        for name in () if offline else self.without_history:
            for symbol in fetched:
                trace[symbol].append(Attempt(name, "skipped", "no fetch_history"))
        deadline = Deadline(self.settings.deadline_s, self._clock)
        chain = () if offline else \
            self.providers if self.settings.enable_fallback else self.providers[:1]
        for index, provider in enumerate(chain):
            for _ in range(2):  # a second pass for bars a new split or dividend outdated
                groups: dict[Range, list[str]] = {}
                for symbol, ranges in pending.items():
                    if not any(isinstance(e, SymbolNotFoundError) for e in errors[symbol]):
                        for piece in ranges:
                            groups.setdefault(piece, []).append(symbol)
                if not groups:
                    break
                outdated = False
                for piece, group in groups.items():
                    steps = self._ask(provider, group, piece, request, deadline,
                                      later=chain[index + 1:])
                    fetched_at = self._clock()
                    for symbol, step in steps.items():
                        trace[symbol].append(_attempt(provider.name, step, piece))
                        if step.data is None:
                            if step.error is not None:
                                errors[symbol].append(step.error)
                            continue
                        pending[symbol].remove(piece)
                        served_by[symbol] = (index, provider.name, fetched_at)
                        segment = Segment.fetched(
                            piece[0], piece[1], fetched_at=fetched_at, provider=provider.name,
                            interval=interval,
                            to_now=piece[1] >= end_s and request.to_now)
                        merged, stale_before = _merge(cached[symbol], step.data, segment)
                        cached[symbol] = merged
                        if stale_before is not None and stale_before > start_s:
                            pending[symbol].append((start_s, stale_before))
                            outdated = True
                    self._write({s: cached[s] for s in steps if steps[s].data is not None},
                                interval)
                if not outdated:
                    break
        results = {s: self._result(s, request, cached[s], pending[s], served_by.get(s),
                                   trace[s], errors[s], now, start_s, end_s, started)
                   for s in symbols}
        self._stats.record_answers(
            FetchResult(symbol=r.symbol, source=r.source, error=r.error)
            for r in results.values())
        return results

    def _ask(self, provider: GuardedProvider, symbols: list[str], piece: Range,
             request: HistoryRequest, deadline: Deadline,
             later: Sequence[GuardedProvider]) -> dict[str, Step[pd.DataFrame]]:
        asked = BarRange(piece[0], piece[1], self._clock(),
                         self.settings.history.max_gap_s(INTERVAL_SECONDS[request.interval]))

        def check(symbol: str, answer: object,
                  provider_name: str) -> pd.DataFrame | ResilientProviderError:
            return check_bars(symbol, answer, provider=provider_name, asked=asked)

        return provider.fetch_history(
            symbols, deadline, start=_utc(piece[0]), end=_utc(piece[1]),
            interval=request.interval, check=check,
            hand_on_429=any(p.upstream is not None and p.upstream is provider.upstream
                            for p in later))

    def _result(self, symbol: str, request: HistoryRequest, cached: CachedBars,
                missing: list[Range], served: tuple[int, str, float] | None,
                trace: list[Attempt], errors: list[ResilientProviderError], now: float,
                start_s: float, end_s: float, started: float) -> HistoryResult:
        latency_ms = (time.perf_counter() - started) * 1000.0
        newest = newest_overlap(cached.segments, start_s, end_s)
        if not missing:
            if served is not None:
                index, provider, fetched_at = served
                source = DataSource.PRIMARY if index == 0 else DataSource.FALLBACK
                return self._answer(symbol, request, cached, source, provider, fetched_at,
                                    now, trace, latency_ms, start_s, end_s)
            trace.append(Attempt("cache", "success", "fresh: the range is cached"))
            return self._answer(symbol, request, cached, DataSource.CACHE_FRESH,
                                newest.provider if newest else None,
                                newest.fetched_at if newest else now, now, trace,
                                latency_ms, start_s, end_s)
        if newest is None:
            trace.append(Attempt("cache", "miss", "no bars cached in the range"))
        # Offline, stale bars tagged stale beat an error whatever enable_stale_cache says:
        # there is no live source to wait for (as for info, strategy/offline.py).
        elif not self.settings.enable_stale_cache and not self.settings.offline:
            trace.append(Attempt("cache", "skipped", "cached bars not served: stale cache off"))
        else:
            trace.append(Attempt("cache", "success",
                                 f"stale: cached bars served, {_span(missing[0])} missing"))
            return self._answer(symbol, request, cached, DataSource.CACHE_STALE,
                                newest.provider, newest.fetched_at, now, trace, latency_ms,
                                start_s, end_s)
        attempts = tuple(trace)
        error = _final_error(symbol, errors, attempts) if not self.settings.offline else \
            OfflineNoCacheError("; ".join(f"{a.step}: {a.detail}" for a in attempts),
                                symbol=symbol)
        log.warning("no history for %s: %s", symbol, error.message)
        return HistoryResult(symbol=symbol, source=DataSource.ERROR, frame=empty_bars(),
                             request=request, latency_ms=latency_ms, error=error,
                             attempts=attempts)

    @staticmethod
    def _answer(symbol: str, request: HistoryRequest, cached: CachedBars, source: DataSource,
                provider: str | None, fetched_at: float, now: float, trace: list[Attempt],
                latency_ms: float, start_s: float, end_s: float) -> HistoryResult:
        bars = cached.bars
        stamps = bars.index.as_unit("ms").asi8 / 1000.0  # type: ignore[attr-defined]
        inside = bars[(stamps >= start_s) & (stamps < end_s)]
        return HistoryResult(symbol=symbol, source=source,
                             frame=adjust_bars(inside, request.adjust), request=request,
                             provider=provider, fetched_at=fetched_at,
                             age_s=max(0.0, now - fetched_at),
                             is_stale=source is DataSource.CACHE_STALE, latency_ms=latency_ms,
                             attempts=tuple(trace))

    # A failing store is logged and skipped: it must never turn an answer into an error, and a
    # backend may raise anything (sqlite, OS errors), hence the broad catches.

    def _read(self, symbol: str, interval: str) -> CachedBars:
        try:
            return self.store.get(symbol, interval) or CachedBars()
        except Exception as exc:  # noqa: BLE001 - see above
            self._stats.record_cache_error("history_get")
            log.warning("history cache read failed for %s, skipped: %s: %s", symbol,
                        type(exc).__name__, exc)
            return CachedBars()

    def _write(self, entries: dict[str, CachedBars], interval: str) -> None:
        for symbol, entry in entries.items():
            try:
                self.store.put(symbol, interval, entry)
            except Exception as exc:  # noqa: BLE001 - see above
                self._stats.record_cache_error("history_set")
                log.warning("history cache write failed for %s, skipped: %s: %s", symbol,
                            type(exc).__name__, exc)


def _merge(cached: CachedBars, bars: pd.DataFrame,
           segment: Segment) -> tuple[CachedBars, float | None]:
    """``bars`` fetched for ``segment`` merged into ``cached``; and, when they bring a split
    or dividend that cached bars before the segment predate, its start: the cached bars
    before it are dropped (to be fetched again)."""
    old, bars = cached.bars, with_index_unit(bars)  # a third-party provider's may differ
    events = bars.index[(bars["dividends"] > 0) | (bars["splits"] > 0)]
    known = old.index[(old["dividends"] > 0) | (old["splits"] > 0)] if not old.empty else events[:0]
    new_events = events.difference(known)
    if len(new_events) and not old.empty and bool((old.index < bars.index.min()).any()):
        return CachedBars(bars.sort_index(), (segment,)), segment.start_s
    merged = merge_bars(old, bars, segment.start_s, segment.end_s)
    return CachedBars(merged, merge_segments(cached.segments, segment)), None


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)


def _span(piece: Range) -> str:
    return f"{_utc(piece[0]):%Y-%m-%d %H:%M} to {_utc(piece[1]):%Y-%m-%d %H:%M} UTC"


def _attempt(provider: str, step: Step[pd.DataFrame], piece: Range) -> Attempt:
    latency_ms = round(step.latency_ms, 3)
    if step.data is not None:
        return Attempt(provider, "success", f"served {len(step.data)} bars for {_span(piece)}",
                       latency_ms=latency_ms, retries=step.retries,
                       retried_codes=step.retried_codes)
    error = step.error
    detail = error.message if error is not None else "no answer"
    if step.retries:
        detail += f" (after {step.retries + 1} attempts)"
    code = error.code if error is not None else None
    outcome = "skipped" if code in _SKIP_CODES else "error"
    return Attempt(provider, outcome, f"{detail} [{_span(piece)}]", code, latency_ms,
                   step.retries, step.retried_codes)
