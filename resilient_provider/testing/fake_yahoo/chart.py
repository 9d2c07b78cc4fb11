"""Yahoo's v8 chart (``/v8/finance/chart/{SYM}``) for any symbol, generated deterministically.

The body has the shape of the recorded chart responses (``chart_*.json`` in the shared
fixtures): ``{"chart": {"result": [{"meta", "timestamp", "events", "indicators"}], "error":
null}}`` with ``indicators.quote[0]`` holding ``open/high/low/close/volume`` lists and, for
daily and longer bars, ``indicators.adjclose[0].adjclose``; ``events.dividends`` /
``events.splits`` keyed by the bar's timestamp (as strings). Like Yahoo:

* a range is ``period1``/``period2`` (bars whose start is in ``[period1, period2)``) or
  ``range=`` (``1d``, ``5d``, ``1mo`` … ``ytd``, ``max``) back from now;
* a daily bar is stamped at the session's open, except the latest session's, stamped at
  ``meta.regularMarketTime`` (what Yahoo does for the live row); intraday bars start at the
  open, within regular hours (``includePrePost`` is accepted, and no extended hours are sent);
* ``events=div|split`` (any of ``div``, ``split``, ``splits``, separated by ``|`` or ``,``)
  adds the dividends and splits of the bars returned;
* a range with no bars (a weekend) is a 200 with ``meta`` only and ``indicators.quote ==
  [{}]``; a range ending before the first trade is a 400 ``Data doesn't exist for startDate =
  …, endDate = …``; an unknown interval or range is a 400 (the unknown symbol's 404 is the
  responder's).

"Now" is ``now_s()`` (default: the wall clock): bars up to now, the latest one still forming
while its session is open. Values come from :mod:`.chart_series`.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .chart_body import ChartRequest, bars_for, events_for, meta_for
from .chart_calendar import DAILY_INTERVALS, INTRADAY_MINUTES, market_for, months_back
from .chart_series import SymbolSeries
from .facts import make_facts

#: Yahoo's description of a chart answer for a symbol it does not know (HTTP 404).
NOT_FOUND_DESCRIPTION = "No data found, symbol may be delisted"
_RANGE_DAYS = {"7d": 7, "60d": 60}
_RANGE_MONTHS = {"1mo": 1, "3mo": 3, "6mo": 6, "1y": 12, "2y": 24, "5y": 60, "10y": 120}
_RANGE_SESSIONS = {"1d": 1, "5d": 5}


class ChartSource(Protocol):
    """Where the fake server's chart answers come from."""

    def chart(self, symbol: str, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of the chart request for ``symbol`` with ``query``."""
        ...


def chart_error(code: str, description: str) -> dict[str, Any]:
    """Yahoo's chart error envelope."""
    return {"chart": {"result": None, "error": {"code": code, "description": description}}}


def _param(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name) or []
    return values[0] if values else None


class YahooChartGenerator:
    """Deterministic chart answers for any symbol (see the module docstring).

    Args:
        seed: with the symbol, decides every generated value (the same seed as
            :class:`~.bodies.YahooBodyGenerator` gives the same names, listing and price).
        now_s: "now" in epoch seconds (tests pass a fixed clock).
    """

    def __init__(self, seed: int = 0, *, now_s: Callable[[], float] = time.time) -> None:
        self.seed = seed
        self.now_s = now_s
        self._series: dict[str, SymbolSeries] = {}
        self._lock = threading.Lock()

    def series(self, symbol: str) -> SymbolSeries:
        """The generated history of ``symbol`` (built once)."""
        symbol = symbol.upper()
        with self._lock:
            found = self._series.get(symbol)
            if found is None:
                facts = make_facts(self.seed, symbol)
                found = SymbolSeries(self.seed, facts,
                                     market_for(facts.quote_type, facts.listing.tz_name))
                self._series[symbol] = found
            return found

    def chart(self, symbol: str, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """(status, body) of one chart request."""
        interval = (_param(query, "interval") or "1d").lower()
        if interval not in INTRADAY_MINUTES and interval not in DAILY_INTERVALS:
            return 400, chart_error("Bad Request", f"Invalid input - interval={interval} is not "
                                    "supported. Valid intervals: [1m, 2m, 5m, 15m, 30m, 60m, "
                                    "90m, 1h, 4h, 1d, 5d, 1wk, 1mo, 3mo]")
        series = self.series(symbol)
        now = float(self.now_s())
        span = self._span(series, query, now)
        if isinstance(span, str):
            return 400, chart_error("Bad Request", span)
        start, end, range_name = span
        if end <= series.first_trade_s:
            return 400, chart_error("Bad Request", f"Data doesn't exist for startDate = {start}, "
                                    f"endDate = {end}")
        events = {word for raw in query.get("events", []) for part in raw.split("|")
                  for word in part.split(",")}
        request = ChartRequest(series, interval, start, end, now, range_name,
                               dividends="div" in events,
                               splits=bool({"split", "splits"} & events))
        bars = bars_for(request)
        result: dict[str, Any] = {"meta": meta_for(request, bars)}
        if not bars.stamps:
            result["indicators"] = {"quote": [{}]}
            return 200, {"chart": {"result": [result], "error": None}}
        result["timestamp"] = bars.stamps
        found = events_for(request, bars)
        if found:
            result["events"] = found
        result["indicators"] = bars.indicators(adjusted=interval in DAILY_INTERVALS)
        return 200, {"chart": {"result": [result], "error": None}}

    @staticmethod
    def _span(series: SymbolSeries, query: Mapping[str, list[str]],
              now: float) -> tuple[int, int, str] | str:
        """(start, end, range name) in epoch seconds, or the 400's description."""
        period1, period2 = _param(query, "period1"), _param(query, "period2")
        if period1 is not None or period2 is not None:
            try:
                start = int(period1) if period1 is not None else 0
                end = int(period2) if period2 is not None else int(now)
            except ValueError:
                return f"Invalid input - period1={period1}, period2={period2}"
            if start > end:
                return "Invalid input - start date cannot be after end date."
            return start, end, ""
        name = (_param(query, "range") or "1mo").lower()
        market = series.market
        today = market.local_date(now)
        if name in _RANGE_SESSIONS:
            day = market.latest_trading_day(today)
            if market.session(day)[0] > now:
                day = market.previous_trading_day(day)
            for _ in range(_RANGE_SESSIONS[name] - 1):
                day = market.previous_trading_day(day)
            first = market.at(day, 0)
        elif name in _RANGE_DAYS:
            first = market.at(today - dt.timedelta(days=_RANGE_DAYS[name]), 0)
        elif name in _RANGE_MONTHS:
            first = market.at(months_back(today, _RANGE_MONTHS[name]), 0)
        elif name == "ytd":
            first = market.at(today.replace(month=1, day=1), 0)
        elif name == "max":
            first = series.first_trade_s
        else:
            return f"Invalid input - range={name} is not supported."
        return first, int(now) + 1, name


def spoil_chart(body: dict[str, Any], mode: str) -> dict[str, Any]:
    """A 200 chart ``body`` spoiled as :meth:`~.faults.Fault.garbage` says: ``nan_price`` and
    ``negative_price`` spoil every bar's prices, ``strings_for_dicts`` puts a string in place
    of the result."""
    result = body["chart"]["result"]
    if mode == "strings_for_dicts":
        return {"chart": {"result": [f"No data found for {result[0]['meta']['symbol']}"],
                          "error": None}}
    quote = result[0]["indicators"]["quote"][0]
    for key in ("open", "high", "low", "close"):
        if key in quote:
            quote[key] = [math.nan if mode == "nan_price" else -abs(v) for v in quote[key]]
    return body
