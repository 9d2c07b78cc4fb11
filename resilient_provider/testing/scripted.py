"""Scripted providers: deterministic stand-ins for data sources, for tests and demos.

:class:`ScriptedProvider` answers info; :class:`ScriptedHistoryProvider` also answers price
history (a third-party-like :class:`~resilient_provider.providers.protocol.HistoryProvider`),
with bars from :func:`make_bars`.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..providers.protocol import InfoOrError

if TYPE_CHECKING:
    import pandas as pd


def make_info(symbol: str, *, price: float | None = None, **overrides: Any) -> dict[str, Any]:
    """A plausible canonical info dict for ``symbol``, the same for the same symbol every time."""
    seed = zlib.crc32(symbol.encode())
    base = price if price is not None else round(10 + (seed % 49_000) / 100, 2)
    info: dict[str, Any] = {
        "symbol": symbol,
        "shortName": f"{symbol} Inc.",
        "longName": f"{symbol} Incorporated",
        "currency": "USD",
        "exchange": "NMS",
        "quoteType": "EQUITY",
        "regularMarketPrice": base,
        "currentPrice": base,
        "previousClose": round(base * 0.99, 2),
        "marketCap": int(base * 1_000_000 * (1 + seed % 5000)),
        "trailingPE": round(5 + seed % 40 + 0.5, 2),
        "forwardPE": round(4 + seed % 35 + 0.25, 2),
        "dividendYield": round((seed % 400) / 100, 2),
        "beta": round(0.5 + (seed % 150) / 100, 2),
        "fiftyTwoWeekHigh": round(base * 1.25, 2),
        "fiftyTwoWeekLow": round(base * 0.75, 2),
        "sector": "Technology",
        "industry": "Software",
        "targetMeanPrice": round(base * 1.1, 2),
        "recommendationKey": "buy",
        "numberOfAnalystOpinions": 5 + seed % 40,
    }
    info.update(overrides)
    return info


@dataclass(frozen=True)
class Raise:
    """A step that makes the whole ``fetch_info`` call raise ``error``."""

    error: BaseException


class Hang:
    """A step that blocks the call until the provider is closed or :meth:`release` is called."""

    def __init__(self) -> None:
        self._released = threading.Event()

    def wait(self) -> None:
        """Block until released (bounded, so a forgotten hang cannot outlive a test run)."""
        self._released.wait(timeout=300)

    def release(self) -> None:
        """Let every call blocked on this step return."""
        self._released.set()


#: A script step: an info dict, an error instance, :class:`Raise` or :class:`Hang` — or any other
#: value, answered as it is (to test how malformed answers are handled).
Step = object


class ScriptedProvider:
    """A provider that answers from a script, per symbol, step by step.

    ``script`` maps a symbol to its steps: an info dict (answered), an error instance (answered
    as that symbol's error), :class:`Raise` (the whole call raises), :class:`Hang` (the call
    blocks). Steps are used one per call and the last one repeats. Symbols without a script get
    ``default`` — by default :func:`make_info`. ``calls`` records the symbols of every call.
    """

    def __init__(self, name: str, script: Mapping[str, Sequence[Step] | Step] | None = None,
                 *, default: Step | None = None) -> None:
        self.name = name
        self.default = default
        self.calls: list[list[str]] = []
        self.closed = False
        self._lock = threading.Lock()
        self._script: dict[str, deque[Step]] = {}
        self._hangs: list[Hang] = []
        for symbol, steps in (script or {}).items():
            self.set(symbol, *(steps if isinstance(steps, list | tuple) else [steps]))

    def set(self, symbol: str, *steps: Step) -> None:
        """Replace the script for ``symbol``."""
        with self._lock:
            self._script[symbol] = deque(steps)

    def set_default(self, step: Step | None) -> None:
        """Answer unscripted symbols with ``step`` (None: a generated info dict)."""
        with self._lock:
            self.default = step

    def _next(self, symbol: str) -> Step:
        step = _take(self._script.get(symbol))
        if step is None:
            return self.default if self.default is not None else make_info(symbol)
        return step

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        """Answer ``symbols`` from the script."""
        with self._lock:
            self.calls.append(list(symbols))
            steps = {s: self._next(s) for s in symbols}
        return self._play(steps, lambda _, step: dict(step) if isinstance(step, dict) else step)

    def _play(self, steps: Mapping[str, Any],
              answer: Callable[[str, Any], Any]) -> dict[str, Any]:
        """Play each symbol's step: a :class:`Raise` fails the whole call, a :class:`Hang`
        blocks until released and leaves the symbol out, anything else is ``answer(symbol,
        step)``."""
        answers: dict[str, Any] = {}
        for symbol, step in steps.items():
            if isinstance(step, Raise):
                raise step.error
            if isinstance(step, Hang):
                with self._lock:
                    self._hangs.append(step)
                step.wait()
                continue
            answers[symbol] = answer(symbol, step)
        return answers

    @property
    def call_count(self) -> int:
        """How many times ``fetch_info`` was called."""
        with self._lock:
            return len(self.calls)

    def close(self) -> None:
        """Release any hanging call."""
        self.closed = True
        with self._lock:
            hangs, self._hangs = self._hangs, []
        for hang in hangs:
            hang.release()


#: Bar frequencies of :func:`make_bars` (pandas offsets), by interval.
_FREQUENCIES = {"1d": "D", "5d": "5D", "1wk": "W-MON", "1mo": "MS", "3mo": "QS"}


def make_bars(symbol: str, start: datetime, end: datetime, interval: str = "1d", *,
              tz: str = "America/New_York",
              dividends: Mapping[date | str, float] | None = None,
              splits: Mapping[date | str, float] | None = None) -> pd.DataFrame:
    """Canonical bars (:mod:`~resilient_provider.history.bars`) for ``symbol`` starting in
    ``[start, end)``, the same values for the same bar whatever the range asked.

    Daily bars at midnight exchange time on weekdays, intraday bars from 09:30 to 16:00 on
    weekdays, weekly on Mondays, monthly on the 1st. A dividend or split (by date) marks the
    first bar at or after it; prices are split-adjusted throughout and ``adj_close`` carries
    every dividend after its bar (``1 - dividend / close`` each), as Yahoo's chart does.
    """
    import pandas as pd  # imported here: pandas takes a second to import

    from ..history.bars import BAR_DTYPES, INDEX_UNIT
    from ..history.intervals import INTERVAL_SECONDS, is_intraday

    first = pd.Timestamp(start).tz_convert(tz)
    last = pd.Timestamp(end).tz_convert(tz)
    if is_intraday(interval):
        step = f"{int(INTERVAL_SECONDS[interval] // 60)}min"
        stamps = pd.date_range(first.floor("D") + pd.Timedelta(hours=9, minutes=30), last,
                               freq=step)
        minutes = stamps.hour * 60 + stamps.minute
        stamps = stamps[(minutes >= 570) & (minutes < 960)]
    else:
        stamps = pd.date_range(first.floor("D") - pd.Timedelta(days=93), last,
                               freq=_FREQUENCIES[interval], normalize=True)
    if interval != "1wk":
        stamps = stamps[stamps.day_of_week < 5]
    stamps = stamps[(stamps >= first) & (stamps < last)]
    seed = zlib.crc32(symbol.encode())
    base = 20.0 + seed % 400

    def close_at(t: float) -> float:
        return base * (1.0 + 0.2 * math.sin(t / 2_592_000.0 + seed % 7))

    times = [float(t) / 1e9 for t in stamps.as_unit("ns").asi8]
    close = [close_at(t) for t in times]
    opens = [c * (1.0 + 0.004 * math.sin(t / 3600.0)) for c, t in zip(close, times, strict=True)]

    def events(given: Mapping[date | str, float] | None) -> list[tuple[float, float]]:
        moments = [(pd.Timestamp(str(day)).tz_localize(tz).timestamp(), value)
                   for day, value in (given or {}).items()]
        return sorted(moments)

    payouts, ratios = events(dividends), events(splits)

    def marked(moments: list[tuple[float, float]]) -> list[float]:
        column = [0.0] * len(times)
        for moment, value in moments:
            index = next((i for i, t in enumerate(times) if t >= moment), None)
            if index is not None and (index == 0 or times[index - 1] < moment):
                column[index] = value
        return column

    factor = [math.prod(1.0 - amount / close_at(moment) for moment, amount in payouts
                        if moment > t) for t in times]
    frame = pd.DataFrame({
        "open": opens,
        "high": [max(o, c) * 1.01 for o, c in zip(opens, close, strict=True)],
        "low": [min(o, c) * 0.99 for o, c in zip(opens, close, strict=True)],
        "close": close,
        "adj_close": [c * f for c, f in zip(close, factor, strict=True)],
        "volume": [1_000_000 + int(t // 60) % 100_000 for t in times],
        "dividends": marked(payouts),
        "splits": marked(ratios),
    }, index=pd.DatetimeIndex(stamps, name="timestamp").as_unit(INDEX_UNIT))
    return frame.astype(BAR_DTYPES)


@dataclass(frozen=True)
class HistoryCall:
    """One ``fetch_history`` call a :class:`ScriptedHistoryProvider` received."""

    symbols: tuple[str, ...]
    start: datetime
    end: datetime
    interval: str


class ScriptedHistoryProvider(ScriptedProvider):
    """A :class:`ScriptedProvider` that also answers ``fetch_history`` from a script.

    ``history`` maps a symbol to its steps, one per call (the last repeats): None (the bars
    :func:`make_bars` generates for the range asked, with the symbol's ``events``), a
    DataFrame (answered as it is), an error instance, :class:`Raise` or :class:`Hang`.
    ``events`` maps a symbol to ``{"dividends": {day: amount}, "splits": {day: ratio}}``;
    ``tz`` is the exchange time zone of generated bars. ``history_calls`` records every call
    (symbols and the range asked).
    """

    def __init__(self, name: str, history: Mapping[str, Sequence[Step] | Step] | None = None,
                 *, events: Mapping[str, Mapping[str, Mapping[date | str, float]]] | None = None,
                 tz: str = "America/New_York", script: Mapping[str, Sequence[Step] | Step]
                 | None = None) -> None:
        super().__init__(name, script)
        self.tz = tz
        self.events = dict(events or {})
        self.history_calls: list[HistoryCall] = []
        self._history: dict[str, deque[Step]] = {}
        for symbol, steps in (history or {}).items():
            self.set_history(symbol, *(steps if isinstance(steps, list | tuple) else [steps]))

    def set_history(self, symbol: str, *steps: Step) -> None:
        """Replace the history script for ``symbol``."""
        with self._lock:
            self._history[symbol] = deque(steps)

    def fetch_history(self, symbols: Sequence[str], *, start: datetime, end: datetime,
                      interval: str) -> Mapping[str, Any]:
        """Answer ``symbols`` for ``[start, end)`` from the script."""
        with self._lock:
            self.history_calls.append(HistoryCall(tuple(symbols), start, end, interval))
            steps = {s: _take(self._history.get(s)) for s in symbols}

        def generated_unless_scripted(symbol: str, step: Any) -> Any:
            if step is not None:
                return step
            events = self.events.get(symbol, {})
            return make_bars(symbol, start, end, interval, tz=self.tz,
                             dividends=events.get("dividends"), splits=events.get("splits"))

        return self._play(steps, generated_unless_scripted)


def _take(steps: deque[Step] | None) -> Step | None:
    """A symbol's next scripted step (the last one repeats), or None when it has none."""
    if not steps:
        return None
    return steps.popleft() if len(steps) > 1 else steps[0]
