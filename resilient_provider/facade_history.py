"""The façade's price history: ``get_history``, ``batch_get_history`` and their async twins.

:class:`HistoryMethods` is a mixin of :class:`~resilient_provider.facade.ResilientProvider`.
Input is checked in the caller's frame (a bad symbol, period, date, interval or adjustment
raises there, before any I/O); the walk is :class:`~.history.cascade.HistoryCascade` over the
façade's own guarded providers (the same breakers, retries, deadline and upstream budgets as
info), built on first use with a history store beside the façade's cache
(:func:`~.history.store.open_history_store`, closed with the façade).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, overload

from .cache import CacheBackend
from .facade_async import _off_the_loop, _Sync
from .history.bars import empty_bars
from .history.cascade import HistoryCascade
from .history.request import DateLike, HistoryRequest, resolve_request
from .history.result import HistoryResult
from .history.store import HistoryStore, open_history_store
from .result import DataSource
from .stats import ReliabilityStats
from .strategy.batch import (
    BatchInterrupted,
    BatchPlan,
    NoProgress,
    plan_batch,
    run_chunks,
    split_evenly,
)
from .strategy.guarded import GuardedProvider
from .symbols import normalize_symbol

if TYPE_CHECKING:
    import pandas as pd


class _Facade(_Sync, Protocol):
    """What the history methods use of the façade (the async twins' part too)."""

    cache: CacheBackend
    stats: ReliabilityStats
    _clock: Callable[[], float]
    _guarded: list[GuardedProvider]
    _owned: list[Any]
    _history: HistoryCascade | None

    def _check_open(self) -> None: ...


class HistoryMethods:
    """``get_history``, ``batch_get_history``, ``aget_history`` and ``abatch_get_history``."""

    _history: HistoryCascade | None = None

    def get_history(self: _Facade, symbol: str, *, period: str | None = None,
                    start: DateLike | None = None, end: DateLike | None = None,
                    interval: str = "1d", adjust: str = "splits_dividends") -> HistoryResult:
        """Price bars for ``symbol``: a tagged :class:`~.history.result.HistoryResult` whose
        ``frame`` is indexed by bar start in the exchange's time zone, with the columns of
        :data:`~.history.bars.BAR_COLUMNS`; never raises for provider failures.

        Args:
            period: Yahoo's ``1d 5d 1mo 3mo 6mo 1y 2y 5y 10y ytd max``, counted back from now;
                or ``start``/``end`` (a date, datetime or ISO string; naive = UTC; end
                exclusive). Neither: the last month.
            interval: one of :data:`~.history.bars.INTERVALS`.
            adjust: ``"splits_dividends"`` (default: OHLC scaled by ``adj_close/close``),
                ``"splits"`` (as Yahoo's chart gives them) or ``"none"`` (as traded).

        Raises:
            InvalidSymbolError: ``symbol`` is no ticker symbol.
            InvalidHistoryRequestError: a bad period, date, interval or adjust (a ValueError).
        """
        normalized = normalize_symbol(symbol)
        request = _request(self, period, start, end, interval, adjust)
        self._check_open()
        result = _cascade(self).fetch([normalized], request)[normalized]
        return result if symbol == normalized else result.with_ticker(symbol)

    @overload
    def batch_get_history(self: _Facade, symbols: Iterable[str], *, period: str | None = None,
                          start: DateLike | None = None, end: DateLike | None = None,
                          interval: str = "1d", adjust: str = "splits_dividends",
                          as_frame: Literal[True] = True) -> pd.DataFrame: ...

    @overload
    def batch_get_history(self: _Facade, symbols: Iterable[str], *, period: str | None = None,
                          start: DateLike | None = None, end: DateLike | None = None,
                          interval: str = "1d", adjust: str = "splits_dividends",
                          as_frame: Literal[False]) -> dict[str, HistoryResult]: ...

    def batch_get_history(self: _Facade, symbols: Iterable[str], *, period: str | None = None,
                          start: DateLike | None = None, end: DateLike | None = None,
                          interval: str = "1d", adjust: str = "splits_dividends",
                          as_frame: bool = True) -> pd.DataFrame | dict[str, HistoryResult]:
        """:meth:`get_history` for many symbols: one long DataFrame indexed by
        ``(symbol, timestamp)`` (timestamps in UTC: symbols trade in different time zones;
        symbols without bars have no rows), or with ``as_frame=False`` ``{symbol as given:
        HistoryResult}`` in input order (an item that is no symbol gets an
        ``invalid_symbol`` error result). Symbols are fetched in chunks of ``batch_size``,
        ``max_concurrent_requests`` at once, those missing the same range in one provider
        call. Ctrl-C raises :class:`~resilient_provider.strategy.batch.BatchInterrupted` (a
        KeyboardInterrupt) with the answers so far in ``results``."""
        plan = plan_batch(symbols)
        request = _request(self, period, start, end, interval, adjust)
        self._check_open()
        return _batch(self, plan, request, as_frame)

    async def aget_history(self: _Facade, symbol: str, *, period: str | None = None,
                           start: DateLike | None = None, end: DateLike | None = None,
                           interval: str = "1d",
                           adjust: str = "splits_dividends") -> HistoryResult:
        """:meth:`get_history` for ``async`` code; safe to await inside a running loop."""
        normalized = normalize_symbol(symbol)  # bad input raises here, in the caller's frame
        request = _request(self, period, start, end, interval, adjust)
        self._check_open()
        result = await _off_the_loop(self, partial(_cascade(self).fetch, [normalized], request))
        answer = result[normalized]
        return answer if symbol == normalized else answer.with_ticker(symbol)

    async def abatch_get_history(self: _Facade, symbols: Iterable[str], *,
                                 period: str | None = None, start: DateLike | None = None,
                                 end: DateLike | None = None, interval: str = "1d",
                                 adjust: str = "splits_dividends", as_frame: bool = True,
                                 ) -> pd.DataFrame | dict[str, HistoryResult]:
        """:meth:`batch_get_history` for ``async`` code."""
        plan = plan_batch(symbols)
        request = _request(self, period, start, end, interval, adjust)
        self._check_open()
        return await _off_the_loop(self, partial(_batch, self, plan, request, as_frame))


def _request(facade: _Facade, period: str | None, start: DateLike | None,
             end: DateLike | None, interval: str, adjust: str) -> HistoryRequest:
    return resolve_request(period=period, start=start, end=end, interval=interval,
                           adjust=adjust, now=facade._clock())


def history_store(facade: _Facade) -> HistoryStore:
    """The store of ``facade``'s cached price histories (opened on first use)."""
    return _cascade(facade).store


def _cascade(facade: _Facade) -> HistoryCascade:
    with facade._lock:
        if facade._history is None:
            store = open_history_store(facade.cache, facade.settings, clock=facade._clock)
            facade._owned.append(store)  # closed with the façade
            facade._history = HistoryCascade(facade._guarded, store, facade.settings,
                                             clock=facade._clock, stats=facade.stats)
        return facade._history


def _batch(facade: _Facade, plan: BatchPlan, request: HistoryRequest,
           as_frame: bool) -> pd.DataFrame | dict[str, HistoryResult]:
    """The chunks of ``plan`` through the history cascade on the batch runner info batches
    use (:func:`~.strategy.batch.run_chunks`): at most ``max_concurrent_requests`` at once,
    and on Ctrl-C a :class:`~.strategy.batch.BatchInterrupted` carrying the answers so far
    (``{symbol as given: HistoryResult}``)."""
    cascade = _cascade(facade)
    workers = facade.settings.max_concurrent_requests
    chunks = split_evenly(plan.symbols, workers=workers, max_size=facade.settings.batch_size)
    # run_chunks is typed for info answers; it only collects what each chunk returns.
    fetch_chunk = cast(Any, partial(cascade.fetch, request=request))
    try:
        answers = cast(dict[str, HistoryResult],
                       run_chunks(chunks, fetch_chunk, workers=workers, progress=NoProgress()))
    except BatchInterrupted as exc:
        got = cast(dict[str, HistoryResult], exc.results)
        raise BatchInterrupted(_keyed(plan, got, request),
                               missing=[k for k in plan.keys if k not in plan.invalid and
                                        plan.symbol_of[k] not in got]) from exc
    if as_frame:
        return long_frame([answers[s] for s in plan.symbols])
    return _keyed(plan, answers, request)


def _keyed(plan: BatchPlan, answers: dict[str, HistoryResult],
           request: HistoryRequest) -> dict[str, HistoryResult]:
    """``{item as given: answer}`` in input order (an item that is no symbol gets its error;
    a symbol without an answer in ``answers`` is left out)."""
    results: dict[str, HistoryResult] = {}
    for key in plan.keys:
        text = str(key)
        if key in plan.invalid:
            results[text] = HistoryResult(symbol=text, source=DataSource.ERROR,
                                          frame=empty_bars(), request=request,
                                          error=plan.invalid[key])
        elif (answer := answers.get(plan.symbol_of[key])) is not None:
            results[text] = answer if answer.symbol == key else answer.with_ticker(text)
    return results


def long_frame(results: Sequence[HistoryResult]) -> pd.DataFrame:
    """The bars of ``results`` in one frame indexed by ``(symbol, timestamp)``, timestamps in
    UTC; results without bars add no rows."""
    import pandas as pd  # imported here: pandas takes a second to import

    frames = {r.symbol: r.frame.tz_convert("UTC") for r in results if not r.frame.empty}
    if not frames:
        empty = empty_bars("UTC")
        empty.index = pd.MultiIndex.from_arrays(
            [pd.Index([], dtype="string"), empty.index], names=["symbol", "timestamp"])
        return empty
    return pd.concat(frames, names=["symbol", "timestamp"])
