"""What both adapters' ``fetch_history`` share: the request check and the chart's failures.

Neither library reports a chart failure faithfully: yfinance logs it and returns an empty
frame (``hide_exceptions``), yahooquery puts Yahoo's description where the symbol's data should
be, or loses the whole answer to a non-JSON body. So, as for info, each adapter records the
chart exchanges (:class:`~.yahoo_http.Transcript`) and the last one decides:

* 404 (``No data found, symbol may be delisted``): :class:`SymbolNotFoundError`;
* 400 ``Data doesn't exist for startDate = …`` (the range ends before the first trade): no
  bars, an empty frame (the symbol exists, the range is empty: the same answer as a weekend);
* 429, 401/403, 5xx, other 4xx, bad JSON: as for info (:func:`~.yahoo_http.error_from_exchange`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..errors import DataContractError, ResilientProviderError, SymbolNotFoundError
from ..history.bars import INTERVALS
from .yahoo_http import Exchange, Transcript, error_from_exchange

#: What :func:`chart_failure` answers when Yahoo says the range holds no data.
NO_BARS = "no bars"


def check_history_request(start: dt.datetime, end: dt.datetime, interval: str) -> None:
    """Raise ValueError naming the bad value unless ``[start, end)`` are tz-aware datetimes,
    ``start < end``, and ``interval`` is one of :data:`~..history.bars.INTERVALS`."""
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(f"{name} must be a tz-aware datetime, got {value!r}")
    if not start < end:
        raise ValueError(f"start must be before end, got start={start!r}, end={end!r}")
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")


def last_chart_exchange(transcript: Transcript, symbol: str) -> Exchange | None:
    """The last chart answer recorded for ``symbol`` (a library's retry supersedes the
    answer it retried)."""
    found = [e for e in transcript.exchanges() if e.route == "chart" and symbol in e.symbols]
    return found[-1] if found else None


def chart_failure(transcript: Transcript, symbol: str, *,
                  provider: str) -> ResilientProviderError | str | None:
    """The failure the symbol's last chart answer shows, :data:`NO_BARS`, or None (usable)."""
    exchange = last_chart_exchange(transcript, symbol)
    if exchange is None:
        return None
    description = exchange.description or ""
    if exchange.status == 404:
        return SymbolNotFoundError(f"Yahoo has no chart for {symbol!r}: {description}",
                                   symbol=symbol, provider=provider)
    if exchange.status == 400 and description.startswith("Data doesn't exist"):
        return NO_BARS
    return error_from_exchange(exchange, symbol=symbol, provider=provider)


def chart_time_zone(meta: dict[str, Any], *, symbol: str,
                    provider: str) -> str | DataContractError:
    """The exchange time zone of a chart answer's ``meta``, or a data-contract error when the
    answer is not ``symbol``'s chart (another symbol's, or no time zone)."""
    tz = meta.get("exchangeTimezoneName")
    named = str(meta.get("symbol") or "").upper()
    if named and named != symbol:
        return DataContractError(f"chart answered for {named[:20]!r}, not {symbol!r}",
                                 symbol=symbol, provider=provider)
    if not isinstance(tz, str) or not tz:
        return DataContractError("chart answer without meta.exchangeTimezoneName",
                                 symbol=symbol, provider=provider)
    return tz
