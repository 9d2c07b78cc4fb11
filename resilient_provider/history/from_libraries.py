"""yfinance's and yahooquery's history frames, mapped onto the one canonical bar frame.

Both libraries read the same Yahoo chart body and hand it back in different shapes (read from
yfinance 1.7 ``scrapers/history.py`` and yahooquery 2.4 ``utils.history_dataframe``):

==================  ===========================================  =================================
                    yfinance ``history(auto_adjust=False)``      yahooquery ``history()``
==================  ===========================================  =================================
index               tz-aware; daily bars at 00:00 exchange time   ``(symbol, date)``; daily bars as
                                                                  ``datetime.date`` (the live row
                                                                  a ``datetime``), intraday
                                                                  tz-aware
columns             ``Open High Low Close Adj Close Volume        ``open high low close volume
                    Dividends Stock Splits [Capital Gains]``      adjclose [dividends] [splits]``
no ``adjclose``     ``Adj Close`` = ``Close`` (intraday)           column missing
null volume         0                                             NaN
==================  ===========================================  =================================

The canonical frame (:mod:`.bars`) takes one rule for each: bars indexed in the exchange's
time zone, daily and longer bars at local midnight of their first day (the live row too, so
both libraries give the same index), one bar per timestamp (the later wins: Yahoo's live row
repeats the day's bar with fresher values), rows without any price dropped, ``adj_close`` =
``close`` where Yahoo sends no ``adjclose`` (intraday), a null volume counted as 0, no
dividend or split as 0.0. Values are not rounded or repaired: they are Yahoo's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from .bars import BAR_COLUMNS, BAR_DTYPES, INDEX_UNIT, empty_bars

#: Intervals whose bars are whole days or longer (stamped at local midnight).
DAILY_INTERVALS = ("1d", "5d", "1wk", "1mo", "3mo")

_YFINANCE_COLUMNS = {"Open": "open", "High": "high", "Low": "low", "Close": "close",
                     "Adj Close": "adj_close", "Volume": "volume", "Dividends": "dividends",
                     "Stock Splits": "splits"}
_YAHOOQUERY_COLUMNS = {"open": "open", "high": "high", "low": "low", "close": "close",
                       "adjclose": "adj_close", "volume": "volume", "dividends": "dividends",
                       "splits": "splits"}
_PRICES = ["open", "high", "low", "close"]


def bars_from_yfinance(frame: pd.DataFrame, *, tz: str, interval: str) -> pd.DataFrame:
    """The canonical bars of a yfinance ``history(auto_adjust=False, actions=True)`` frame.

    ``tz`` is the exchange's time zone (Yahoo's ``meta.exchangeTimezoneName``).
    """
    return _canonical(frame, _YFINANCE_COLUMNS, tz=tz, interval=interval)


def bars_from_yahooquery(frame: pd.DataFrame, *, symbol: str, tz: str,
                         interval: str) -> pd.DataFrame:
    """The canonical bars of ``symbol`` in a yahooquery ``history(adj_ohlc=False)`` frame
    (indexed ``(symbol, date)``; an empty frame of any shape means no bars)."""
    if isinstance(frame.index, pd.MultiIndex):
        if symbol not in frame.index.get_level_values(0):
            return empty_bars(tz)
        frame = pd.DataFrame(frame.xs(symbol, level=0))
    return _canonical(frame, _YAHOOQUERY_COLUMNS, tz=tz, interval=interval)


def _stamp(value: Any, tz: str) -> pd.Timestamp:
    """One index entry as a tz-aware Timestamp in ``tz`` (a bare date: its local midnight)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pd.Timestamp(value).tz_localize(tz)
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC").tz_convert(tz) if stamp.tzinfo is None else stamp.tz_convert(tz)


def _canonical(frame: pd.DataFrame, names: dict[str, str], *, tz: str,
               interval: str) -> pd.DataFrame:
    if frame.empty:
        return empty_bars(tz)
    found = frame[[c for c in names if c in frame.columns]].rename(columns=names)
    index = pd.DatetimeIndex([_stamp(v, tz) for v in found.index])
    if interval in DAILY_INTERVALS:
        # Local midnight of the bar's day; a midnight that a DST change skips or repeats
        # (Brazil until 2019) is taken as yfinance takes it.
        index = pd.DatetimeIndex(pd.to_datetime(list(index.date))).tz_localize(
            tz, ambiguous=True, nonexistent="shift_forward")
    found = found.set_axis(index)
    found = found[~found.index.duplicated(keep="last")].sort_index()
    for column in _PRICES:
        if column not in found:
            found[column] = float("nan")
    found = found[found[_PRICES].notna().any(axis=1)]
    if "adj_close" not in found:
        found["adj_close"] = found["close"]
    for column, default in (("volume", 0), ("dividends", 0.0), ("splits", 0.0)):
        found[column] = (pd.to_numeric(found[column], errors="coerce").fillna(default)
                         if column in found else default)
    found["volume"] = found["volume"].round()
    dtypes: dict[str, Any] = BAR_DTYPES
    out = pd.DataFrame({c: found[c].astype(dtypes[c]) for c in BAR_COLUMNS},
                       index=pd.DatetimeIndex(found.index).as_unit(INDEX_UNIT))
    out.index.name = "timestamp"
    return out
