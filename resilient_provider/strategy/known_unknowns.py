"""Known unknowns: the negative cache, consulted before any provider and taught after a walk.

The engine (:mod:`.engine`) calls :meth:`KnownUnknowns.look_up` once per request or batch,
beside the read-through, and passes what the walk answered to :meth:`KnownUnknowns.learn`. The
rows themselves live beside the cache entries (:mod:`resilient_provider.cache.not_found`).

*Consulted.* If a symbol has a current row (confirmed less than ``cache.not_found_for`` ago),
it is answered at once with a ``symbol_not_found`` error, and its trace says the negative cache
answered. It is counted as an ``error`` request and as one of ``not_found_cache_hits``. The
exception is a symbol with a positive cache entry of any age: a row never shadows an entry, so
such a row is dropped and the symbol is fetched as usual.

*Written.* Only a confirmed not-found is remembered. The symbol's final answer is
``symbol_not_found``, a provider said so (an error attempt with that code: not a skip, and not
an answer shared from the negative cache), and its walk saw no 429 and no pacing refusal
(``rate_limited``, ``upstream_cooling``, ``throttled``) on any attempt, retried ones included
(:attr:`~resilient_provider.result.Attempt.retried_codes`). The upstream of the provider that said
so is not cooling down, the symbol has no positive entry, and the request does not look like a
broken upstream (see :data:`SUSPECT_SHARE`).

*Forgotten.* A row is dropped when its symbol gets a provider's answer after all (the row had
expired, or ``refresh=True`` passed it by).

A failing negative cache never fails a request. Each failed read or write is logged, counted
as a cache error (``not_found_get``, ``not_found_set``, ``not_found_delete``) and skipped.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..cache.base import CacheBackend, CacheEntry
from ..cache.not_found import NotFoundCache, NotFoundEntry
from ..config import format_duration
from ..errors import RateLimitError, SymbolNotFoundError, ThrottledError, UpstreamCoolingError
from ..logs import describe_symbols, get_logger
from ..result import Attempt, DataSource, FetchResult
from ..stats import ReliabilityStats

log = get_logger(__name__)

#: Not-found answers are not remembered from a request that walked at least
#: :data:`SUSPECT_MIN_WALKED` symbols if this share of them or more came back not found. Real
#: portfolios hold a few dead tickers. Half a batch unknown at once looks like an upstream that
#: is broken or blocking us with empty answers, and remembering that for a day would hide good
#: symbols. A smaller request says too little to judge: a short watchlist of ten dead tickers
#: is a real list, and is remembered.
SUSPECT_SHARE = 0.5
#: See :data:`SUSPECT_SHARE`.
SUSPECT_MIN_WALKED = 20

#: Error codes of a walk that saw the upstream throttle: its not-found answers are not trusted.
_THROTTLE_CODES = frozenset({RateLimitError.code, UpstreamCoolingError.code, ThrottledError.code})
_LIVE = frozenset({DataSource.PRIMARY, DataSource.FALLBACK})


class Cooling(Protocol):
    """What is read of an upstream budget: whether it cools down after a 429."""

    def cooling_for_s(self) -> float:
        """Seconds the upstream still cools down (0 when it does not)."""
        ...


@dataclass(frozen=True, slots=True)
class Lookup:
    """What :meth:`KnownUnknowns.look_up` found: an answer for each known unknown, and every
    symbol that has a row (current or not), whose row goes if a provider now finds it."""

    answers: dict[str, FetchResult] = field(default_factory=dict)
    with_rows: frozenset[str] = frozenset()


class KnownUnknowns:
    """The strategy's side of the negative cache ``negative``, beside the positive ``cache``.

    ``upstreams`` maps each provider's name to its upstream budget (or None): a not-found said
    by a provider whose upstream is cooling down is not remembered.
    """

    def __init__(self, negative: NotFoundCache, cache: CacheBackend, *,
                 stats: ReliabilityStats,
                 upstreams: Mapping[str, Cooling | None]) -> None:
        self._negative = negative
        self._cache = cache
        self._stats = stats
        self._upstreams = dict(upstreams)

    def look_up(self, symbols: Sequence[str], *, answer: bool = True) -> Lookup:
        """The known unknowns among ``symbols``, from one read. With ``answer`` false (a
        ``refresh=True`` request) none is answered, and only the symbols with rows are named."""
        if not self._negative.enabled or not symbols:
            return Lookup()
        started = time.perf_counter()
        rows = self._read(symbols)
        if not rows:
            return Lookup()
        now = self._negative.clock()
        current = [s for s, row in rows.items() if self._negative.is_current(row, now)]
        entries = self._entries(current) if answer and current else {}
        if entries is None:  # cannot tell whether an entry exists: ask the providers
            return Lookup(with_rows=frozenset(rows))
        if entries:
            log.info("dropping negative-cache rows shadowed by cache entries: %s",
                     describe_symbols(list(entries)))
            self._forget(list(entries))
        latency_ms = (time.perf_counter() - started) * 1000.0
        answers = {s: self._answer(rows[s], now, latency_ms)
                   for s in current if answer and s not in entries}
        if answers:
            self._stats.record_answers(answers.values())  # as not_found requests
            self._stats.record_not_found_hits(len(answers))
        return Lookup(answers, frozenset(rows) - set(entries))

    def learn(self, walked: Mapping[str, FetchResult], *,
              with_rows: Collection[str] = ()) -> None:
        """Remember the confirmed not-founds among ``walked`` (the answers of the symbols this
        request sent down the chain). Drop the rows of those of ``with_rows`` that a provider
        has now found."""
        if not self._negative.enabled or not walked:
            return
        found = [s for s in with_rows if s in walked and walked[s].source in _LIVE]
        if found:
            self._forget(found)
        not_found = [s for s, r in walked.items()
                     if r.data is None and isinstance(r.error, SymbolNotFoundError)]
        if not not_found:
            return
        if len(walked) >= SUSPECT_MIN_WALKED and len(not_found) >= SUSPECT_SHARE * len(walked):
            log.warning("%d of %d symbols came back not found: not remembered as unknown "
                        "(so many at once looks like a broken upstream, not bad symbols)",
                        len(not_found), len(walked))
            return
        confirmed = {s: said for s in not_found
                     if (said := self._confirmed_by(walked[s])) is not None}
        entries = self._entries(list(confirmed)) if confirmed else {}
        if entries is None:  # cannot tell whether an entry exists: remember nothing
            return
        self._remember({s: said for s, said in confirmed.items() if s not in entries})

    def _confirmed_by(self, result: FetchResult) -> str | None:
        """The provider whose answer confirmed ``result``'s not-found, or None when it is not
        a confirmation: no provider said so, or the upstream throttled."""
        if any(a.error_code in _THROTTLE_CODES or _THROTTLE_CODES.intersection(a.retried_codes)
               for a in result.attempts):
            return None
        said = next((a.step for a in result.attempts
                     if a.outcome == "error" and a.error_code == SymbolNotFoundError.code), None)
        upstream = self._upstreams.get(said) if said is not None else None
        if upstream is not None and upstream.cooling_for_s() > 0:
            return None
        return said

    def _answer(self, row: NotFoundEntry, now: float, latency_ms: float) -> FetchResult:
        age = format_duration(row.age_s(now))
        detail = f"known unknown (confirmed {age} ago by {row.provider})"
        error = SymbolNotFoundError(
            f"cache: {detail}; not asked again for cache.not_found_for "
            f"({format_duration(self._negative.ttl_s)}) unless refresh=True",
            symbol=row.symbol, provider=row.provider)
        return FetchResult(symbol=row.symbol, source=DataSource.ERROR, error=error,
                           latency_ms=latency_ms, attempts=(Attempt("cache", "success", detail),))

    # A failing store is logged and skipped, as the cascade does for the cache: a backend may
    # raise anything (sqlite, OS, network errors), hence the broad catches.

    def _read(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        try:
            return self._negative.read(symbols)
        except Exception as exc:  # noqa: BLE001 - see above
            self._failed("not_found_get", symbols, exc)
            return {}

    def _entries(self, symbols: Sequence[str]) -> dict[str, CacheEntry] | None:
        """The positive entries of ``symbols``; None when the cache cannot say."""
        try:
            return self._cache.get_many(symbols)
        except Exception as exc:  # noqa: BLE001 - see above
            self._failed("get", symbols, exc)
            return None

    def _remember(self, confirmed: Mapping[str, str]) -> None:
        if not confirmed:
            return
        try:
            self._negative.remember(confirmed)
        except Exception as exc:  # noqa: BLE001 - see above
            self._failed("not_found_set", list(confirmed), exc)
            return
        log.info("remembering as unknown for %s: %s", format_duration(self._negative.ttl_s),
                 describe_symbols(list(confirmed)))

    def _forget(self, symbols: Sequence[str]) -> None:
        try:
            self._negative.forget(symbols)
        except Exception as exc:  # noqa: BLE001 - see above
            self._failed("not_found_delete", symbols, exc)

    def _failed(self, operation: str, symbols: Sequence[str], exc: Exception) -> None:
        self._stats.record_cache_error(operation)
        log.warning("cache %s failed for %s, skipped: %s: %s", operation,
                    describe_symbols(symbols), type(exc).__name__, exc)
