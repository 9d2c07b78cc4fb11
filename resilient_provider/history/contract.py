"""The data contract for bars: a history answer must be usable before it counts as a success.

An answer that breaks it is a :class:`~resilient_provider.errors.DataContractError`, a
provider failure that falls over to the next source, as for info answers
(:mod:`resilient_provider.strategy.contract`). A bar frame must have

* a tz-aware ``DatetimeIndex``, strictly increasing (sorted, no duplicate timestamps);
* every column of :data:`~.bars.BAR_COLUMNS` in a type its dtype takes (they are coerced);
* finite prices with ``high >= max(open, close) >= min(open, close) >= low >= 0``,
  volume ``>= 0`` (missing allowed), dividends ``>= 0`` and splits ``>= 0``;
* splits and dividends applied consistently: ``adj_close / close`` changes from one bar to
  the next only at a dividend (and then only down towards the past), and a split's bar does
  not show the split as a price jump (the bars before it are in the same units);
* no gap: no two bars, and not the last bar and the end of the range asked (or now), further
  apart than ``max_gap_s`` -- a range cut short or missing days is a partial answer. The head
  is not checked: a symbol listed after the range's start has no bars before its listing.

Relative tolerance :data:`TOLERANCE` absorbs Yahoo's rounding.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import DataContractError
from .bars import BAR_COLUMNS, BAR_DTYPES

if TYPE_CHECKING:
    import pandas as pd

#: Relative tolerance of the price and ratio checks.
TOLERANCE = 2e-3


@dataclass(frozen=True, slots=True)
class BarRange:
    """What a history answer was asked for: ``[start_s, end_s)`` epoch seconds at ``now_s``,
    with gaps longer than ``max_gap_s`` (0: none checked) a partial answer."""

    start_s: float
    end_s: float
    now_s: float
    max_gap_s: float


def check_bars(symbol: str, answer: object, *, provider: str,
               asked: BarRange) -> pd.DataFrame | DataContractError:
    """The answer as a canonical bar frame (columns in order, dtypes coerced), or the
    contract it breaks."""
    import pandas as pd  # imported here: pandas takes a second to import

    def broken(reason: str) -> DataContractError:
        return DataContractError(f"bars {reason}", symbol=symbol, provider=provider)

    if not isinstance(answer, pd.DataFrame):
        return broken(f"answer is {type(answer).__name__}, not a DataFrame")
    index = answer.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        return broken("index is not a tz-aware DatetimeIndex")
    missing = [c for c in BAR_COLUMNS if c not in answer.columns]
    if missing:
        return broken(f"lack column(s) {', '.join(missing)}")
    try:
        bars = answer[list(BAR_COLUMNS)].astype(BAR_DTYPES)
    except (TypeError, ValueError) as exc:
        return broken(f"have a column of the wrong type: {str(exc)[:120]}")
    bars.index = index.rename("timestamp")
    if not index.is_monotonic_increasing or not index.is_unique:
        return broken("are not in strictly increasing time order (unsorted or duplicated)")
    problem = (_price_problem(bars) or _event_problem(bars)
               or _gap_problem(index.asi8 / _per_second(index), asked))
    return bars if problem is None else broken(problem)


def _per_second(index: pd.DatetimeIndex) -> float:
    """Units of ``index.asi8`` per second (pandas keeps s, ms, us or ns)."""
    return {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[str(index.unit)]


def _price_problem(bars: pd.DataFrame) -> str | None:
    prices = bars[["open", "high", "low", "close", "adj_close"]]
    if not bool(prices.apply(lambda c: c.map(math.isfinite)).all().all()):
        return "have a missing or infinite price"
    slack = bars["high"].abs() * TOLERANCE
    tops = bars[["open", "close"]].max(axis=1)
    bottoms = bars[["open", "close"]].min(axis=1)
    for label, bad in (
        ("high below max(open, close)", bars["high"] < tops - slack),
        ("low above min(open, close)", bars["low"] > bottoms + slack),
        ("a negative price", (prices < 0).any(axis=1)),
        ("negative volume", bars["volume"].fillna(0) < 0),
        ("a negative or missing dividend", ~(bars["dividends"] >= 0)),
        ("a negative or missing split ratio", ~(bars["splits"] >= 0)),
    ):
        if bool(bad.any()):
            return f"have {label} at {bars.index[int(bad.to_numpy().argmax())]}"
    return None


def _event_problem(bars: pd.DataFrame) -> str | None:
    if len(bars) < 2:
        return None
    close = bars["close"].to_numpy()
    ratio = (bars["adj_close"] / bars["close"].where(bars["close"] > 0)).to_numpy()
    dividends = bars["dividends"].to_numpy()
    splits = bars["splits"].to_numpy()
    for i in range(1, len(bars)):
        before, now = ratio[i - 1], ratio[i]
        if not (math.isfinite(before) and math.isfinite(now)):
            continue
        at = bars.index[i].isoformat()
        if dividends[i] > 0:
            if before > now * (1 + TOLERANCE):
                return f"adj_close/close rises into the dividend at {at}"
        elif abs(before / now - 1) > TOLERANCE:
            return (f"adj_close/close changes at {at} ({before:.6g} to {now:.6g}) with no "
                    "dividend there")
        ratio_i = splits[i]
        if ratio_i > 0 and abs(math.log(ratio_i)) > math.log(1.5) and close[i] > 0:
            jump = math.log(close[i - 1] / close[i])
            if abs(jump) > abs(math.log(ratio_i)) / 2:
                return (f"show the {ratio_i:g}:1 split at {at} as a price jump: bars before it "
                        "are not split-adjusted")
    return None


def _gap_problem(times_s: object, asked: BarRange) -> str | None:
    if asked.max_gap_s <= 0:
        return None
    stamps = [float(t) for t in times_s]  # type: ignore[attr-defined]
    until = min(asked.end_s, asked.now_s)
    if not stamps:
        if until - asked.start_s > asked.max_gap_s:
            return f"missing: none in a range of {(until - asked.start_s) / 86400:.1f} days"
        return None
    for earlier, later in itertools.pairwise(stamps):
        if later - earlier > asked.max_gap_s:
            return f"missing: a gap of {(later - earlier) / 86400:.1f} days inside the range"
    if until - stamps[-1] > asked.max_gap_s:
        return (f"cut short: the last is {(until - stamps[-1]) / 86400:.1f} days before the end "
                "of the range asked")
    return None
