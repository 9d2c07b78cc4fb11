"""Offline mode (the ``offline`` setting): every answer from the cache, at once.

No provider is asked, so nothing is retried, no breaker or upstream budget is consulted and
nothing waits: a request costs one cache read (``get_many``) for all its symbols, plus one read
of the negative cache for those without an entry. The engine (:mod:`.engine`) sends every
request here, before the read-through and the shared walks, when the setting is on.

* An entry younger than ``cache.fresh_for`` is served as ``cache_fresh``; one younger than
  ``cache.max_stale_age`` as ``cache_stale`` (``is_stale``), *whatever* ``enable_stale_cache``
  says: that switch chooses between stale data and an error when live sources fail, and offline
  there is no live source to wait for, so the stale entry, tagged stale, is the most useful
  answer. An entry from ``max_stale_age`` on is never served, as online.
* A symbol confirmed unknown (the negative cache) is answered ``symbol_not_found`` as online.
* Any other symbol gets :class:`~resilient_provider.errors.OfflineNoCacheError`
  (``offline_no_cache``), which no provider failure ever produces.

Every trace starts with the step ``offline`` (skipped: ``no provider asked (offline mode)``),
so the tagged error and the attempts say why no provider appears. Cache entries are checked
against the data contract as online (:mod:`.cached_contract`). The answers are counted as
requests by their source; no provider call is counted, since none is made.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

from ..cache.base import CacheBackend, CacheEntry
from ..config import CacheSettings, format_duration
from ..errors import OfflineNoCacheError
from ..logs import describe_symbols, get_logger
from ..result import Attempt, DataSource, FetchResult
from ..stats import ReliabilityStats
from .cached_contract import trusted_entries
from .freshness import Freshness, FreshnessRule

log = get_logger(__name__)

#: The first step of every offline answer's trace.
OFFLINE_STEP = Attempt("offline", "skipped", "no provider asked (offline mode)")

#: Answers for known unknowns among the symbols given (the negative cache's look-up).
KnownUnknownAnswers = Callable[[Sequence[str]], dict[str, FetchResult]]


class OfflineAnswers:
    """Answers for symbols from ``cache`` alone, judged by ``settings`` (see the module doc)."""

    def __init__(self, cache: CacheBackend, settings: CacheSettings, *,
                 clock: Callable[[], float], stats: ReliabilityStats) -> None:
        self._cache = cache
        self._freshness = FreshnessRule.from_settings(settings)
        self._clock = clock
        self._stats = stats

    def answer(self, symbols: Sequence[str], *,
               known_unknowns: KnownUnknownAnswers) -> dict[str, FetchResult]:
        """One answer for each of ``symbols`` (distinct, normalised), in their order;
        ``known_unknowns`` answers those without an entry that the negative cache knows."""
        started = time.perf_counter()
        cached, failure = self._read(symbols)
        now = self._clock()
        served: dict[str, FetchResult] = {}
        misses: dict[str, Attempt] = {}
        for symbol in symbols:
            entry = cached.get(symbol)
            if entry is None:
                misses[symbol] = Attempt("cache", "error" if failure else "miss",
                                         failure or "no entry")
                continue
            judged = self._freshness.judge(entry, now)
            if judged is Freshness.TOO_OLD:
                limit = format_duration(self._freshness.max_stale_age_s)
                misses[symbol] = Attempt("cache", "miss", f"entry too old ({_age(entry, now)}, "
                                         f"max_stale_age {limit})")
                continue
            served[symbol] = self._served(symbol, entry, judged, now, started)
        known = {s: dataclasses.replace(r, attempts=(OFFLINE_STEP, *r.attempts))
                 for s, r in (known_unknowns(list(misses)) if misses else {}).items()}
        latency_ms = (time.perf_counter() - started) * 1000.0
        failed: dict[str, FetchResult] = {}
        for symbol, attempt in misses.items():
            if symbol in known:
                continue
            attempts = (OFFLINE_STEP, attempt)
            error = OfflineNoCacheError("; ".join(f"{a.step}: {a.detail}" for a in attempts),
                                        symbol=symbol)
            failed[symbol] = FetchResult(symbol=symbol, source=DataSource.ERROR, error=error,
                                         latency_ms=latency_ms, attempts=attempts)
        for source in (DataSource.CACHE_FRESH, DataSource.CACHE_STALE):
            count = sum(r.source is source for r in served.values())
            if count:
                self._stats.record_request(source, count)
        if failed:
            self._stats.record_request(DataSource.ERROR, len(failed))
            log.info("offline: no cache entry for %s", describe_symbols(list(failed)))
        answers = {**served, **known, **failed}
        return {symbol: answers[symbol] for symbol in symbols}

    def _served(self, symbol: str, entry: CacheEntry, judged: Freshness, now: float,
                started: float) -> FetchResult:
        stale = judged is Freshness.STALE
        attempt = Attempt("cache", "success",
                          f"{'stale' if stale else 'fresh'} entry, {_age(entry, now)} old")
        return FetchResult(
            symbol=symbol, source=DataSource.CACHE_STALE if stale else DataSource.CACHE_FRESH,
            data=entry.data, provider=entry.provider, fetched_at=entry.fetched_at,
            age_s=entry.age_s(now), is_stale=stale,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            attempts=(OFFLINE_STEP, attempt))

    def _read(self, symbols: Sequence[str]) -> tuple[dict[str, CacheEntry], str | None]:
        """The trusted entries of ``symbols``, and why the read failed (None if it did not).
        A failing cache is logged and counted, as online: it makes misses, never an
        exception."""
        try:
            found = self._cache.get_many(symbols)
        except Exception as exc:  # noqa: BLE001 - a backend may raise anything (see cascade)
            self._stats.record_cache_error("get")
            log.warning("cache read failed for %s (offline): %s: %s", describe_symbols(symbols),
                        type(exc).__name__, exc)
            return {}, f"read failed: {type(exc).__name__}"
        return trusted_entries(found, self._clock()), None


def _age(entry: CacheEntry, now: float) -> str:
    return format_duration(entry.age_s(now))
