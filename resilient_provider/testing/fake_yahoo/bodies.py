"""Deterministic Yahoo Finance bodies for any symbol: quoteSummary modules, v7 quote, timeseries.

The key sets and value types per module and quote type mirror real recorded responses
(:mod:`.shapes`); the values are plausible and consistent with each other: one price everywhere,
``marketCap = price * sharesOutstanding``, ``fiftyTwoWeekLow <= dayLow <= price <= dayHigh <=
fiftyTwoWeekHigh``, EPS = price / P/E, analyst targets around the price. Units follow Yahoo,
which is not consistent between endpoints:

* ``dividendYield`` is a fraction in summaryDetail (0.0041) but a percent in v7 (0.41);
* ``regularMarketChangePercent`` is a fraction in the price module but a percent in v7;
* ``trailingAnnualDividendYield`` is a fraction in both; ``ytdReturn`` a fraction in
  quoteSummary and a percent in v7.

Every value comes from ``random.Random(f"{seed}:{symbol}")`` (never global random or ``hash``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from typing import Any, Protocol

from .facts import RECORDED_AT, SymbolFacts, make_facts, quote_type_of
from .shapes import TEMPLATES, V7_TEMPLATES

__all__ = ["BodySource", "YahooBodyGenerator", "quote_type_of"]

#: Fundamentals-timeseries types the generator has values for (EQUITY only, like Yahoo).
TIMESERIES_TYPES = ("trailingPegRatio", "trailingPeRatio", "trailingForwardPeRatio",
                    "trailingPsRatio", "trailingPbRatio", "trailingMarketCap",
                    "trailingEnterpriseValue")
_DAY_S = 86_400


class BodySource(Protocol):
    """Where the fake server's bodies come from (the generator, or recorded responses)."""

    def quote_summary(self, symbol: str, modules: Iterable[str]) -> dict[str, Any] | None:
        """The requested modules that exist for ``symbol``; None for an unknown symbol."""
        ...

    def quote(self, symbol: str) -> dict[str, Any] | None:
        """The v7 quoteResponse entry; None for an unknown symbol."""
        ...

    def timeseries(self, symbol: str, types: Iterable[str], period1: int | None,
                   period2: int | None) -> dict[str, Any]:
        """One fundamentals-timeseries result item (only ``meta`` when there is no data)."""
        ...


class YahooBodyGenerator:
    """Plausible, mutually consistent Yahoo bodies for any symbol, deterministic per seed.

    Args:
        seed: with the symbol, decides every generated value.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._prices: dict[str, float] = {}

    def set_price(self, symbol: str, price: float) -> None:
        """Answer ``symbol`` with this price from now on (tests tell answers apart by it).

        Every value derived from the price (day range, 52-week range, market cap, targets,
        EPS) follows it; nothing else about the symbol changes.
        """
        if not price > 0:
            raise ValueError(f"price must be > 0, got {price!r}")
        self._prices[symbol.upper()] = float(price)

    def quote_type(self, symbol: str) -> str:
        """The quoteType this generator answers ``symbol`` with (from the symbol's shape)."""
        return quote_type_of(symbol)

    def quote_summary(self, symbol: str, modules: Iterable[str]) -> dict[str, Any]:
        """The requested modules that exist for the symbol's quote type (possibly none).

        Never None: every symbol is known to the generator (the server's ``unknown_symbols``
        decides which are not).
        """
        facts = self._facts(symbol)
        templates = TEMPLATES[facts.quote_type]
        return {m: self._fill(templates[m], facts, m) for m in dict.fromkeys(modules)
                if m in templates}

    def quote(self, symbol: str) -> dict[str, Any]:
        """The v7 quoteResponse entry (``dividendYield`` in percent, as Yahoo sends it there)."""
        facts = self._facts(symbol)
        return self._fill(V7_TEMPLATES[facts.quote_type], facts, "v7")

    def timeseries(self, symbol: str, types: Iterable[str], period1: int | None = None,
                   period2: int | None = None) -> dict[str, Any]:
        """A fundamentals-timeseries result item: one TTM point per type with data.

        The point lies within ``[period1, period2]`` (default: the half year before the
        recordings' date); the answer never depends on the wall clock. Types the generator has
        no values for, non-equities and an empty period give the item with only ``meta``, as
        Yahoo does.
        """
        wanted = list(types)
        item: dict[str, Any] = {"meta": {"symbol": [symbol], "type": wanted}}
        if period2 is not None:
            end = period2
        else:
            end = period1 + 183 * _DAY_S if period1 is not None else RECORDED_AT
        start = period1 if period1 is not None else end - 183 * _DAY_S
        known = [t for t in wanted if t in TIMESERIES_TYPES]
        if quote_type_of(symbol) != "EQUITY" or not known or start > end:
            return item
        facts = self._facts(symbol)
        rng = random.Random(f"{self.seed}:{symbol}:timeseries")
        day = int(end) // _DAY_S * _DAY_S - rng.randrange(0, 30) * _DAY_S
        stamp = max(day, int(start))
        item["timestamp"] = [stamp]
        as_of = dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d")
        for name in known:
            raw: float = (facts.market_cap if name in ("trailingMarketCap",
                                                       "trailingEnterpriseValue")
                          else round(rng.uniform(0.5, 4.0) if "Peg" in name
                                     else rng.uniform(1.0, 40.0), 4))
            text = f"{raw / 1e9:.2f}B" if raw > 1e6 else f"{raw:.2f}"
            item[name] = [{"dataId": 14000 + TIMESERIES_TYPES.index(name), "asOfDate": as_of,
                           "periodType": "TTM", "reportedValue": {"raw": raw, "fmt": text}}]
        return item

    # --- internals --------------------------------------------------------------------------

    def _facts(self, symbol: str) -> SymbolFacts:
        return make_facts(self.seed, symbol, self._prices.get(symbol.upper()))

    def _fill(self, spec: str, facts: SymbolFacts, module: str) -> dict[str, Any]:
        """One module (or the v7 entry) from its ``key:type`` spec.

        A module's body never depends on which other modules were requested: values come from
        the symbol's facts, or from an RNG seeded per key (so a key repeated across modules and
        v7 agrees).
        """
        values = facts.values(module)
        out: dict[str, Any] = {}
        for item in spec.split():
            key, kind = item.rsplit(":", 1)
            if kind == "n":  # Yahoo sends null here for this quote type
                out[key] = None
            elif key in values:
                out[key] = values[key]
            else:
                out[key] = _filler(kind, key, random.Random(f"{self.seed}:{facts.symbol}:{key}"))
        if "companyOfficers" in out and facts.quote_type == "EQUITY":
            out["companyOfficers"] = _officers(random.Random(f"{self.seed}:{facts.symbol}:cos"))
        return out


def _filler(kind: str, key: str, rng: random.Random) -> Any:
    """A plausible value of Yahoo's JSON type for a key the facts do not decide."""
    lowered = key.lower()
    if kind == "b":
        return False
    if kind == "l":
        return []
    if kind == "i":
        if any(word in lowered for word in ("date", "time", "epoch", "yearend", "quarter")):
            return RECORDED_AT - rng.randrange(0, 365) * _DAY_S
        if lowered.endswith(("risk", "rating")):
            return rng.randrange(1, 11) if lowered.endswith("risk") else rng.randrange(1, 6)
        if lowered.startswith(("bidsize", "asksize")):
            return rng.randrange(1, 40) * 100
        return rng.randrange(1_000_000, 500_000_000)
    if kind == "f":
        if "ratio" in lowered and "percent" not in lowered:
            return round(rng.uniform(0.5, 3.0), 4)
        return round(rng.uniform(0.01, 0.6), 6)  # margins, growth, holdings: fractions
    return f"{key}-{rng.randrange(1000, 9999)}"


def _officers(rng: random.Random) -> list[dict[str, Any]]:
    """0-2 company officers in Yahoo's shape (``formatted=false`` still nests pay as raw/fmt)."""
    officers = []
    for title in ("Chief Executive Officer", "Chief Financial Officer")[: rng.randrange(0, 3)]:
        born = rng.randrange(1955, 1985)
        pay = rng.randrange(1_000_000, 30_000_000)
        officers.append({
            "maxAge": 1, "name": f"Alex {rng.choice(('Morgan', 'Rivera', 'Chen', 'Okafor'))}",
            "age": 2025 - born, "title": title, "yearBorn": born, "fiscalYear": 2024,
            "totalPay": {"raw": pay, "fmt": f"{pay / 1e6:.2f}M", "longFmt": f"{pay:,}"},
            "exercisedValue": {"raw": 0, "fmt": None, "longFmt": "0"},
            "unexercisedValue": {"raw": 0, "fmt": None, "longFmt": "0"},
        })
    return officers
