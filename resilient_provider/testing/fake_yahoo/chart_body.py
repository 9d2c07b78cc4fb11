"""The parts of a generated chart body: the bars of a request, their events, and ``meta``.

Used by :mod:`.chart`; the meta keys and their order follow the recorded chart responses
(``chart_AAPL_2020-01-01_2020-01-03_1d.json``, ``chart_AAPL_2025-02-01_2025-02-02_1m.json`` …):
intraday answers add ``previousClose``, ``scale`` and ``tradingPeriods``; a future has no
``longName``, a mutual fund no day range or volume.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .chart_calendar import INTRADAY_MINUTES, period_start
from .chart_series import Bar, SymbolSeries

VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
_US_PRE_POST_MIN = (240, 1200)  # New York's pre-market from 04:00, post-market to 20:00


@dataclass(frozen=True)
class ChartRequest:
    """One chart request, read: ``[start, end)`` in epoch seconds, "now", what events."""

    series: SymbolSeries
    interval: str
    start: int
    end: int
    now: float
    range_name: str
    dividends: bool
    splits: bool


@dataclass
class Bars:
    """The bars of an answer, column by column, with the trading days each one covers."""

    stamps: list[int] = field(default_factory=list)
    rows: list[Bar] = field(default_factory=list)
    adjclose: list[float] = field(default_factory=list)
    days: list[list[dt.date]] = field(default_factory=list)

    def add(self, bar: Bar, days: list[dt.date], adjclose: float | None = None) -> None:
        """Append one bar covering ``days``."""
        self.stamps.append(bar.stamp)
        self.rows.append(bar)
        self.days.append(days)
        if adjclose is not None:
            self.adjclose.append(adjclose)

    def indicators(self, *, adjusted: bool) -> dict[str, Any]:
        """``indicators`` as Yahoo lays it out (``adjclose`` only for daily and longer bars)."""
        quote = {"open": [b.open for b in self.rows], "high": [b.high for b in self.rows],
                 "low": [b.low for b in self.rows], "close": [b.close for b in self.rows],
                 "volume": [b.volume for b in self.rows]}
        out: dict[str, Any] = {"quote": [quote]}
        if adjusted:
            out["adjclose"] = [{"adjclose": list(self.adjclose)}]
        return out


def _merge(stamp: int, bars: list[Bar]) -> Bar:
    return Bar(stamp, bars[0].open, max(b.high for b in bars), min(b.low for b in bars),
               bars[-1].close, sum(b.volume for b in bars))


def bar_until(series: SymbolSeries, day: dt.date, now: float) -> Bar | None:
    """``day``'s bar as known at ``now``: whole, forming (its completed minutes), or None."""
    open_s, close_s = series.market.session(day)
    if close_s <= now:
        return series.day_bar(day)
    done = [m for m in series.minute_bars(day) if m.stamp + 60 <= now] if open_s < now else []
    return _merge(open_s, done) if done else None


def latest_session(series: SymbolSeries, now: float) -> tuple[dt.date, Bar, int]:
    """(day, bar, regularMarketTime) of the latest session with a trade by ``now``."""
    market = series.market
    day = market.latest_trading_day(market.local_date(now))
    while True:
        bar = bar_until(series, day, now)
        if bar is not None:
            open_s, close_s = market.session(day)
            if close_s <= now:
                return day, bar, close_s + 1  # Yahoo's last trade time: one second past
            return day, bar, open_s + int((now - open_s) // 60) * 60
        day = market.previous_trading_day(day)


def _days(request: ChartRequest) -> list[dt.date]:
    series, market = request.series, request.series.market
    first = market.local_date(max(request.start, series.first_trade_s))
    last = market.local_date(max(min(request.end - 1, request.now), request.start))
    return [d for d in market.trading_days(first - dt.timedelta(days=1), last)
            if d >= series.first_day and market.session(d)[0] < request.end
            and market.session(d)[1] > request.start]


def bars_for(request: ChartRequest) -> Bars:
    """The bars of ``request``: whole sessions (grouped for ``5d``/``1wk``/``1mo``/``3mo``)
    or intraday bars from the minute bars, start in ``[start, end)``, all begun by now."""
    series, market, now = request.series, request.series.market, request.now
    bars = Bars()
    minutes = INTRADAY_MINUTES.get(request.interval)
    if minutes is not None:
        for day in _days(request):
            open_s = market.session(day)[0]
            done = [m for m in series.minute_bars(day) if m.stamp + 60 <= now]
            groups: dict[int, list[Bar]] = {}
            for m in done:
                groups.setdefault((m.stamp - open_s) // (60 * minutes), []).append(m)
            for group in groups.values():
                if request.start <= group[0].stamp < request.end:
                    bars.add(_merge(group[0].stamp, group), [day])
        return bars
    latest, _, market_time = latest_session(series, now)
    daily: list[tuple[dt.date, Bar]] = []
    for day in _days(request):
        stamp = market.daily_stamp(day)
        bar = bar_until(series, day, now) if request.start <= stamp < request.end else None
        if bar is not None:
            daily.append((day, bar))
    factors = series.dividend_factors([d for d, _ in daily], latest)
    if request.interval == "1d":
        for (day, bar), factor in zip(daily, factors, strict=True):
            stamp = market_time if day == latest else bar.stamp
            bars.add(_merge(stamp, [bar]), [day], bar.close * factor)
        return bars
    grouped: dict[Any, list[tuple[dt.date, Bar, float]]] = {}
    for index, ((day, bar), factor) in enumerate(zip(daily, factors, strict=True)):
        key = index // 5 if request.interval == "5d" else period_start(day, request.interval)
        grouped.setdefault(key, []).append((day, bar, factor))
    for key, members in grouped.items():
        stamp = (members[0][1].stamp if request.interval == "5d"
                 else market.at(key, 0))
        last_bar, last_factor = members[-1][1], members[-1][2]
        bars.add(_merge(stamp, [b for _, b, _ in members]), [d for d, _, _ in members],
                 last_bar.close * last_factor)
    return bars


def events_for(request: ChartRequest, bars: Bars) -> dict[str, Any]:
    """``events`` for the bars returned: dividends and splits, keyed by their bar's stamp."""
    if not bars.stamps or not (request.dividends or request.splits):
        return {}
    series, market = request.series, request.series.market
    bar_of: dict[dt.date, int] = {}
    for index, days in enumerate(bars.days):
        for day in days:
            bar_of.setdefault(day, index)  # intraday: the day's first bar
    first, last = bars.days[0][0], bars.days[-1][-1]
    daily = request.interval == "1d" or request.interval in INTRADAY_MINUTES
    events: dict[str, Any] = {}

    def when(day: dt.date) -> tuple[str, int] | None:
        index = bar_of.get(day)
        if index is None:
            return None
        stamp = bars.stamps[index]
        return str(stamp), stamp if daily else market.daily_stamp(day)

    if request.dividends:
        found: dict[str, Any] = {}
        for day, amount in series.dividends(first, last):
            at = when(day)
            if at is not None:
                found[at[0]] = {"amount": amount, "date": at[1]}
        if found:
            events["dividends"] = found
    if request.splits:
        found = {}
        for day, numerator, denominator in series.splits(first, last):
            at = when(day)
            if at is not None:
                found[at[0]] = {"date": at[1], "numerator": numerator,
                                "denominator": denominator,
                                "splitRatio": f"{numerator}:{denominator}"}
        if found:
            events["splits"] = found
    return events


def _period(series: SymbolSeries, start: int, end: int, at: float) -> dict[str, Any]:
    name, offset = series.market.zone_fields(at)
    return {"timezone": name, "start": start, "end": end, "gmtoffset": offset}


def _current_periods(series: SymbolSeries, now: float) -> dict[str, Any]:
    market = series.market
    day = market.latest_trading_day(market.local_date(now))
    open_s, close_s = market.session(day)
    if market.kind != "sessions":  # round the clock: Yahoo ends the day a minute early
        close_s -= 60
        pre, post = (open_s, open_s), (close_s, close_s)
    elif market.tz_name == "America/New_York":
        pre = (market.at(day, _US_PRE_POST_MIN[0]), open_s)
        post = (close_s, market.at(day, _US_PRE_POST_MIN[1]))
    else:
        pre, post = (open_s - 3600, open_s), (close_s, close_s + 3 * 3600)
    return {"pre": _period(series, *pre, now), "regular": _period(series, open_s, close_s, now),
            "post": _period(series, *post, now)}


def meta_for(request: ChartRequest, bars: Bars) -> dict[str, Any]:
    """``meta`` for ``request`` (in the recorded bodies' key order)."""
    series, facts, market, now = (request.series, request.series.facts,
                                  request.series.market, request.now)
    qt = facts.quote_type
    latest, latest_bar, market_time = latest_session(series, now)
    year = [series.day_bar(d) for d in market.trading_days(latest - dt.timedelta(days=365),
                                                           latest - dt.timedelta(days=1))]
    year.append(latest_bar)
    if bars.days:
        before = market.previous_trading_day(bars.days[0][0])
    else:  # the last session that began before the range
        before = market.latest_trading_day(market.local_date(request.start))
        if market.daily_stamp(before) >= request.start:
            before = market.previous_trading_day(before)
    tz_name, offset = market.zone_fields(now)
    meta: dict[str, Any] = {
        "currency": facts.currency, "symbol": facts.symbol,
        "exchangeName": facts.listing.exchange, "fullExchangeName": facts.listing.exchange_name,
        "instrumentType": qt, "firstTradeDate": series.first_trade_s,
        "regularMarketTime": market_time,
        "hasPrePostMarketData": qt in ("EQUITY", "ETF") and market.tz_name == "America/New_York",
        "gmtoffset": offset, "timezone": tz_name, "exchangeTimezoneName": market.tz_name,
        "regularMarketPrice": latest_bar.close,
        "fiftyTwoWeekHigh": max(b.high for b in year), "fiftyTwoWeekLow": min(b.low for b in year),
        "regularMarketDayHigh": latest_bar.high, "regularMarketDayLow": latest_bar.low,
        "regularMarketVolume": latest_bar.volume,
        "longName": facts.names[1], "shortName": facts.names[0],
        "chartPreviousClose": series.day_bar(before).close,
    }
    if qt == "FUTURE":
        del meta["longName"]
    if qt == "MUTUALFUND":
        for key in ("regularMarketDayHigh", "regularMarketDayLow", "regularMarketVolume"):
            del meta[key]
    intraday = request.interval in INTRADAY_MINUTES
    if intraday:
        meta["previousClose"] = series.day_bar(market.previous_trading_day(latest)).close
        meta["scale"] = 3
    meta["priceHint"] = 4 if qt == "CURRENCY" else 2
    meta["currentTradingPeriod"] = _current_periods(series, now)
    if intraday:
        periods = [[_period(series, *market.session(day), market.session(day)[0])]
                   for day in _days(request)]
        if periods:
            meta["tradingPeriods"] = periods
    meta["dataGranularity"] = request.interval
    meta["range"] = request.range_name
    meta["validRanges"] = list(VALID_RANGES)
    return meta
