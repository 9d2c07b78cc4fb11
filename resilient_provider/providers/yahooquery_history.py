"""Price history through yahooquery's own chart code, one symbol at a time, classified.

``Ticker.history(start=, end=, interval=, adj_ohlc=False)`` (yahooquery 2.4) is two steps:
``_get_data("chart", params)`` sends one chart request per symbol and keeps each answer
(the body's ``result[0]``, or Yahoo's error description as a string), then
``_historical_data_to_dataframe`` turns the answers into one ``(symbol, date)`` frame. Both
steps run here as ``history`` runs them (``adj_timezone=True``, no ``adj_ohlc``), with the same
``period1``/``period2``/``interval`` parameters it builds; the answer of the first step is kept
because a symbol without bars (a weekend, a range before listing) vanishes from the frame, and
its time zone with it.

One symbol per call, on a pooled Ticker (the adapter's): a 429's text body makes yahooquery
lose every symbol of a multi-symbol call, and the symbols of a call run on the adapter's thread
pool anyway. Failures are classified from the recorded exchanges (:mod:`.history_common`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ..errors import AuthenticationError, DataContractError, ResilientProviderError
from ..history.bars import empty_bars
from ..history.from_libraries import bars_from_yahooquery
from .history_common import NO_BARS, chart_failure, chart_time_zone
from .yahoo_http import Transcript, error_from_exception

Borrow = Callable[[list[str]], tuple[Any, Any]]


def fetch_yahooquery_history(symbol: str, *, start: dt.datetime, end: dt.datetime,
                             interval: str, borrow: Borrow,
                             give_back: Callable[[Any, Any], None],
                             take_refusal: Callable[[], ResilientProviderError | None],
                             provider: str) -> Any:
    """``symbol``'s canonical bar frame in ``[start, end)``, or the classified error.

    ``borrow`` lends a (Ticker, recording session) pair, ``give_back`` returns it (not done
    after a refused crumb), ``take_refusal`` says whether the gate refused a request.
    """
    take_refusal()  # a refusal left from an earlier call on this thread is not ours
    try:
        ticker, recorder = borrow([symbol])
    except Exception as exc:  # noqa: BLE001 - the constructor's I/O raises anything
        return take_refusal() or error_from_exception(exc, symbol=symbol, provider=provider)
    transcript = Transcript()
    recorder.transcript = transcript
    end_s = int(end.timestamp())
    params: dict[str, Any] = {"period1": int(start.timestamp()), "period2": end_s,
                              "interval": interval}
    answer: Any
    try:
        ticker.symbols = [symbol]
        data = ticker._get_data("chart", params)
        _drop_bar_past_end(data.get(symbol) if isinstance(data, dict) else None, end_s)
        frame = ticker._historical_data_to_dataframe(data, params, True)
        answer = _classify(symbol, data, frame, transcript, interval, provider)
    except Exception as exc:  # noqa: BLE001 - a lost answer surfaces as KeyError and such
        failure = chart_failure(transcript, symbol, provider=provider)
        answer = (failure if isinstance(failure, ResilientProviderError)
                  else error_from_exception(exc, symbol=symbol, provider=provider))
    finally:
        recorder.transcript = None
    refusal = take_refusal()
    if refusal is not None and isinstance(answer, Exception):
        answer = refusal
    if not isinstance(answer, AuthenticationError):
        give_back(ticker, recorder)
    return answer


def _drop_bar_past_end(result: Any, end_s: int) -> None:
    """Drop a last bar stamped at or after ``end_s``: Yahoo often appends the latest price
    past the range's end (BTC-USD's recorded 2020-01-01..03 answer ends on 01-03 00:00), and
    yfinance drops it (``history``: "Yahoo bug fix"), so both libraries give the same bars."""
    stamps = result.get("timestamp") if isinstance(result, dict) else None
    if not isinstance(stamps, list) or not stamps or not isinstance(stamps[-1], int | float):
        return
    if stamps[-1] < end_s:
        return
    count = len(stamps)
    indicators = result.get("indicators") or {}
    for block in [*(indicators.get("quote") or []), *(indicators.get("adjclose") or [])]:
        for values in block.values() if isinstance(block, dict) else ():
            if isinstance(values, list) and len(values) == count:
                values.pop()
    stamps.pop()


def _classify(symbol: str, data: Any, frame: Any, transcript: Transcript, interval: str,
              provider: str) -> Any:
    failure = chart_failure(transcript, symbol, provider=provider)
    if isinstance(failure, ResilientProviderError):
        return failure
    if failure == NO_BARS:
        return empty_bars()
    own = data.get(symbol) if isinstance(data, dict) else None
    meta = own.get("meta") if isinstance(own, dict) else None
    if not isinstance(meta, dict):
        text = own if isinstance(own, str) else "no chart result"
        return DataContractError(f"Yahoo answered with a message, not bars: {text[:160]}",
                                 symbol=symbol, provider=provider)
    tz = chart_time_zone(meta, symbol=symbol, provider=provider)
    if isinstance(tz, DataContractError):
        return tz
    try:
        return bars_from_yahooquery(frame, symbol=symbol, tz=tz, interval=interval)
    except (KeyError, ValueError, TypeError) as exc:
        return DataContractError(f"chart answer yahooquery could not read ({exc!r:.120})",
                                 symbol=symbol, provider=provider)
