"""One generated symbol's price history: daily bars, minute bars, dividends and splits.

Deterministic per (seed, symbol, day): every value comes from ``random.Random`` seeded with
those, so any range can be generated without the days before it, and a day's bars never depend
on the range asked for (only ``adjclose`` depends on "now", as Yahoo's does: it is adjusted for
every dividend paid since). Units are Yahoo's: prices adjusted for splits (the series is
continuous across a split; the split shows only as an event), ``adjclose`` also for dividends.

The close of a day ``d`` is ``price * exp(g(d) - g(recorded))``: a drift, two slow waves and
daily noise, anchored so that the close on the recordings' day is the symbol's generated info
price. A day's open follows the day before's close; high and low bracket them. Minute bars run
from the open to the close inside [low, high] and touch both; their volumes sum to the day's.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from .chart_calendar import Market
from .facts import RECORDED_AT, SymbolFacts

#: Real listings and splits, so tests can meet them (epoch seconds of the first trade; splits
#: as (date, numerator, denominator)).
KNOWN_FIRST_TRADES = {"AAPL": 345_479_400, "MSFT": 511_108_200, "NVDA": 917_015_400}
KNOWN_SPLITS: dict[str, tuple[tuple[dt.date, int, int], ...]] = {
    "AAPL": ((dt.date(2005, 2, 28), 2, 1), (dt.date(2014, 6, 9), 7, 1),
             (dt.date(2020, 8, 31), 4, 1)),
    "NVDA": ((dt.date(2021, 7, 20), 4, 1), (dt.date(2024, 6, 10), 10, 1)),
}
#: Symbols known to pay quarterly dividends in Feb, May, Aug and Nov, and their ex-day rule
#: (weekday, which one of the month): AAPL's first Friday, MSFT's third Wednesday.
KNOWN_PAYERS = {"AAPL": (4, 0), "MSFT": (2, 2)}
_DEFAULT_EX_DAY = (2, 2)
_PAYING_TYPES = ("EQUITY", "ETF", "MUTUALFUND")
_VOLATILITY = {"CURRENCY": 0.004, "CRYPTOCURRENCY": 0.03, "FUTURE": 0.009, "INDEX": 0.01}


@dataclass(frozen=True)
class Bar:
    """One OHLCV bar starting at ``stamp`` (epoch seconds)."""

    stamp: int
    open: float
    high: float
    low: float
    close: float
    volume: int


def places(price: float) -> int:
    """Decimal places Yahoo-like prices near ``price`` carry."""
    if price >= 10:
        return 2
    return 4 if price >= 0.1 else 6


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * nth)


class SymbolSeries:
    """The generated history of one symbol (see the module docstring)."""

    def __init__(self, seed: int, facts: SymbolFacts, market: Market) -> None:
        self.seed = seed
        self.facts = facts
        self.symbol = facts.symbol
        self.market = market
        self.first_trade_s = KNOWN_FIRST_TRADES.get(self.symbol, facts.first_trade_s)
        self.first_day = market.local_date(self.first_trade_s)
        rng = random.Random(f"{seed}:{self.symbol}:chart")
        self._drift = rng.uniform(-0.0001, 0.0005)
        self._waves = ((rng.uniform(0.05, 0.25), rng.uniform(200, 900), rng.uniform(0, 6.3)),
                       (rng.uniform(0.02, 0.1), rng.uniform(30, 120), rng.uniform(0, 6.3)))
        self._sigma = _VOLATILITY.get(facts.quote_type, rng.uniform(0.012, 0.02))
        self._anchor = market.local_date(RECORDED_AT).toordinal()
        self._g_anchor = self._g(self._anchor)
        self._quiet = facts.quote_type in ("CURRENCY", "MUTUALFUND")
        self._volume = max(1, facts.volumes[0])
        pays = self.symbol in KNOWN_PAYERS or (
            facts.quote_type in _PAYING_TYPES and facts.dividend_yield >= 0.005)
        self._yield = max(facts.dividend_yield, 0.005) if pays else 0.0
        self._first_month = 2 if self.symbol in KNOWN_PAYERS else 1 + rng.randrange(3)
        self._ex_day = KNOWN_PAYERS.get(self.symbol, _DEFAULT_EX_DAY)

    # --- daily values -------------------------------------------------------------------------

    def _noise(self, ordinal: int) -> random.Random:
        return random.Random(f"{self.seed}:{self.symbol}:{ordinal}")

    def _g(self, ordinal: int) -> float:
        waves = sum(a * math.sin(2 * math.pi * ordinal / period + phase)
                    for a, period, phase in self._waves)
        return (self._drift * (ordinal - self._anchor) + waves
                + self._noise(ordinal).gauss(0, self._sigma))

    def raw_close(self, day: dt.date) -> float:
        """The close of ``day``, unrounded."""
        return self.facts.price * math.exp(self._g(day.toordinal()) - self._g_anchor)

    def day_bar(self, day: dt.date) -> Bar:
        """``day``'s whole-session bar, stamped at the session's open."""
        rng = self._noise(day.toordinal())
        rng.gauss(0, 1)  # the close's draw (see _g)
        close = self.raw_close(day)
        open_ = self.raw_close(day - dt.timedelta(days=1)) * math.exp(
            rng.gauss(0, self._sigma / 4))
        high = max(open_, close) * math.exp(abs(rng.gauss(0, self._sigma / 2)))
        low = min(open_, close) * math.exp(-abs(rng.gauss(0, self._sigma / 2)))
        volume = 0 if self._quiet else int(self._volume * math.exp(rng.gauss(0, 0.3)))
        dp = places(close)
        return Bar(self.market.daily_stamp(day), round(open_, dp), round(high, dp),
                   round(low, dp), round(close, dp), volume)

    def minute_bars(self, day: dt.date) -> list[Bar]:
        """``day``'s one-minute bars over its session: first open and last close are the
        day's, highs and lows stay within the day's and touch them, volumes sum to its."""
        day_bar = self.day_bar(day)
        start, end = self.market.session(day)
        count = (end - start) // 60
        rng = random.Random(f"{self.seed}:{self.symbol}:{day.toordinal()}:minutes")
        lo, lc = math.log(day_bar.open), math.log(day_bar.close)
        lh, ll = math.log(day_bar.high), math.log(day_bar.low)
        walk = [0.0]
        for _ in range(count):
            walk.append(walk[-1] + rng.gauss(0, 1))
        scale = self._sigma * 0.8 / math.sqrt(count)
        path = [min(lh, max(ll, lo + (lc - lo) * k / count
                            + scale * (walk[k] - walk[-1] * k / count)))
                for k in range(count + 1)]
        path[0], path[-1] = lo, lc
        top = max(range(count), key=lambda k: max(path[k], path[k + 1]))
        bottom = min(range(count), key=lambda k: min(path[k], path[k + 1]))
        weights = [(1.0 + 1.5 * (2 * k / count - 1) ** 2) * rng.uniform(0.5, 1.5)
                   for k in range(count)]
        total = sum(weights)
        volumes = [int(day_bar.volume * w / total) for w in weights]
        volumes[-1] += day_bar.volume - sum(volumes)
        dp = places(day_bar.close)
        bars = []
        for k in range(count):
            o, c = math.exp(path[k]), math.exp(path[k + 1])
            high = day_bar.high if k == top else round(max(o, c), dp)
            low = day_bar.low if k == bottom else round(min(o, c), dp)
            bars.append(Bar(start + 60 * k, round(o, dp), max(high, round(max(o, c), dp)),
                            min(low, round(min(o, c), dp)), round(c, dp), volumes[k]))
        bars[0] = Bar(bars[0].stamp, day_bar.open, bars[0].high, bars[0].low, bars[0].close,
                      bars[0].volume)
        bars[-1] = Bar(bars[-1].stamp, bars[-1].open, bars[-1].high, bars[-1].low,
                       day_bar.close, bars[-1].volume)
        return bars

    # --- events -------------------------------------------------------------------------------

    def dividends(self, first: dt.date, last: dt.date) -> list[tuple[dt.date, float]]:
        """(ex-date, cash amount) of the dividends going ex from ``first`` to ``last``."""
        if not self._yield:
            return []
        found = []
        for year in range(max(first.year, self.first_day.year), last.year + 1):
            for month in range(self._first_month, 13, 3):
                day = _nth_weekday(year, month, *self._ex_day)
                if first <= day <= last and day > self.first_day:
                    before = self.raw_close(self.market.previous_trading_day(day))
                    amount = round(before * self._yield / 4, 3)
                    if amount > 0:
                        found.append((day, amount))
        return found

    def splits(self, first: dt.date, last: dt.date) -> list[tuple[dt.date, int, int]]:
        """(date, numerator, denominator) of the splits from ``first`` to ``last``."""
        return [s for s in KNOWN_SPLITS.get(self.symbol, ()) if first <= s[0] <= last]

    def dividend_factors(self, days: list[dt.date], today: dt.date) -> list[float]:
        """Per day, the factor turning its close into Yahoo's ``adjclose``: the product of
        ``1 - amount / close before ex-date`` over the dividends after it, up to ``today``."""
        if not days:
            return []
        paid = self.dividends(days[0] + dt.timedelta(days=1), today)
        ratios = []
        for ex, amount in paid:
            before = self.raw_close(self.market.previous_trading_day(ex))
            ratios.append((ex, 1 - amount / round(before, places(before))))
        # suffix[i]: the product of ratios[i:], the factor of a day before ratios[i]'s ex-date
        suffix = [1.0] * (len(ratios) + 1)
        for i in range(len(ratios) - 1, -1, -1):
            suffix[i] = suffix[i + 1] * ratios[i][1]
        factors, position = [], 0
        for day in days:  # ascending
            while position < len(ratios) and ratios[position][0] <= day:
                position += 1
            factors.append(suffix[position])
        return factors
