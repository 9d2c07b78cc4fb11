"""Price history through yfinance's own chart code, one symbol at a time, classified.

Each symbol runs yfinance 1.7's ``PriceHistory.history`` (what ``Ticker.history`` calls) on the
adapter's private ``YfData``, so the request goes through the adapter's session and gate like
info does, with what alters Yahoo's values turned off: ``auto_adjust=False`` and
``back_adjust=False`` (OHLC as Yahoo gives them, ``Adj Close`` as Yahoo's ``adjclose``),
``repair=False`` (no "price repair" rewriting bars), ``rounding=False``, ``keepna=True`` (the
canonical mapping drops empty rows, the same rule for both libraries), ``prepost=False``. Two
things of ``Ticker.history`` are left out on purpose:

* ``Ticker`` first asks Yahoo for the symbol's time zone (one more chart request per symbol,
  cached in yfinance's own files under the user cache directory). The range here is tz-aware
  already, so ``PriceHistory`` is given UTC for it, and the exchange's zone is read from the
  chart answer's ``meta`` (as yfinance itself then does for the bars).
* ``YfData.cache_get`` keeps responses in a process-wide LRU cache: a retry after a 500 would
  get the same 500 without asking Yahoo again. :class:`_Uncached` sends every request.

Failures are classified from the recorded exchanges (:mod:`.history_common`): yfinance hides
most of them (``hide_exceptions``) behind an empty frame.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from yfinance.exceptions import YFRateLimitError
from yfinance.scrapers.history import PriceHistory

from ..errors import DataContractError, RateLimitError, ResilientProviderError
from ..history.bars import empty_bars
from ..history.from_libraries import bars_from_yfinance
from .history_common import NO_BARS, chart_failure, chart_time_zone
from .yahoo_http import Transcript, error_from_exception
from .yfinance_batch import recording


class _Uncached:
    """yfinance's ``YfData`` as ``PriceHistory`` uses it, without the response cache, and
    remembering the transport exception yfinance would hide."""

    def __init__(self, data: Any) -> None:
        self._data = data
        self.error: BaseException | None = None

    def get(self, url: str, params: Any = None, timeout: float = 30) -> Any:
        """``YfData.get``, the exception kept before yfinance swallows it."""
        try:
            return self._data.get(url, params=params, timeout=timeout)
        except Exception as exc:
            self.error = exc
            raise

    cache_get = get

    def __getattr__(self, name: str) -> Any:
        return getattr(self._data, name)


def fetch_yfinance_history(data: Any, symbol: str, *, start: dt.datetime, end: dt.datetime,
                           interval: str, timeout_s: float, provider: str) -> Any:
    """``symbol``'s canonical bar frame in ``[start, end)``, or the classified error."""
    transcript = Transcript()
    uncached = _Uncached(data)
    history = PriceHistory(uncached, symbol, "UTC", session=data._session)
    try:
        with recording(transcript):
            frame = history.history(start=start, end=end, interval=interval, prepost=False,
                                    actions=True, auto_adjust=False, back_adjust=False,
                                    repair=False, keepna=True, rounding=False,
                                    timeout=timeout_s)
    except YFRateLimitError as exc:
        last = transcript.last_rate_limit()
        error: ResilientProviderError = RateLimitError(
            "HTTP 429 from Yahoo (rate limited)",
            retry_after=last.retry_after_s if last else None, symbol=symbol, provider=provider)
        error.__cause__ = exc
        return error
    except Exception as exc:  # noqa: BLE001 - yfinance raises bare transport/parsing errors
        failure = chart_failure(transcript, symbol, provider=provider)
        if isinstance(failure, ResilientProviderError):
            return failure
        return error_from_exception(exc, symbol=symbol, provider=provider)
    failure = chart_failure(transcript, symbol, provider=provider)
    if isinstance(failure, ResilientProviderError):
        return failure
    if failure == NO_BARS:
        return empty_bars()
    if uncached.error is not None:
        return error_from_exception(uncached.error, symbol=symbol, provider=provider)
    meta = history._history_metadata if isinstance(history._history_metadata, dict) else {}
    return bars_or_contract_error(frame, meta, symbol=symbol, interval=interval,
                                  provider=provider)


def bars_or_contract_error(frame: Any, meta: dict[str, Any], *, symbol: str, interval: str,
                           provider: str) -> Any:
    """The canonical frame, or a data-contract error when the answer is not ``symbol``'s
    chart (another symbol's, or no ``meta`` time zone)."""
    tz = chart_time_zone(meta, symbol=symbol, provider=provider)
    if isinstance(tz, DataContractError):
        return tz
    try:
        return bars_from_yfinance(frame, tz=tz, interval=interval)
    except (KeyError, ValueError, TypeError) as exc:
        return DataContractError(f"chart answer yfinance could not read ({exc!r:.120})",
                                 symbol=symbol, provider=provider)
