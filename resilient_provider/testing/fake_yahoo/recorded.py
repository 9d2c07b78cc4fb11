"""Seed values copied from real Yahoo answers, so the generator's best-known symbols look real.

The fake Yahoo draws every symbol's facts at random (:mod:`.facts`); for the symbols below it
anchors the draw on what Yahoo really answered in a recording: names, price, shares (so market
cap), 52-week range, sector, dividend yield, EPS, beta, analyst targets and employees. The
price is moved by up to ±2% per seed (different seeds still give different bodies) and every
per-share value follows it; the rest (volumes, day range, ids …) is drawn as for any symbol.

Where the values come from (``../shared/fixtures/yahoo/``, see its SOURCES.md; a few facts per
symbol are copied here because the package cannot read that folder at run time):

* ``quoteSummary-all-{SYMBOL}.json``: recorded 2025-02-21..24 by gadicc/node-yahoo-finance2
  (MIT) — every symbol here except MSFT;
* MSFT: ``quote_MSFT.json``, ``quoteSummary_MSFT_financialData_formatted.json`` and
  ``quoteSummary_MSFT_assetProfile-quoteType-fundProfile_formatted.json`` (recorded
  2025-10-29 by gramistella/yfinance-rs, MIT), beta from ``quote_MSFT_fields-beta.json``.

Symbols without a recording (``^GSPC``, ``NVDA`` …) stay synthetic: see :func:`.facts.make_facts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordedSeed:
    """What a recording says about one symbol (None: the recording has no such value)."""

    names: tuple[str, str]  # shortName, longName
    price: float
    shares: int | None = None
    week52: tuple[float, float] | None = None  # low, high
    sector: tuple[str, str] | None = None  # sector, industry
    dividend_yield: float | None = None  # a fraction
    eps: tuple[float, float] | None = None  # trailing, forward
    beta: float | None = None
    targets: tuple[float, float, float, float] | None = None  # low, mean, median, high
    recommendation: tuple[float, int] | None = None  # recommendationMean, analysts
    employees: int | None = None


RECORDED_SEEDS: dict[str, RecordedSeed] = {
    "AAPL": RecordedSeed(
        ("Apple Inc.", "Apple Inc."), 245.55, 15_022_100_480, (164.08, 260.1),
        ("Technology", "Consumer Electronics"), 0.0041, (6.31, 8.31), 1.2,
        (197, 252.22575, 257.5, 325), (2.06522, 40), 150_000),
    "MSFT": RecordedSeed(
        ("Microsoft Corporation", "Microsoft Corporation"), 541.55, 7_433_087_554,
        (344.79, 555.45), ("Technology", "Software - Infrastructure"), 0.0067, (13.66, 14.95),
        0.895, (483, 621.06885, 630, 730), (1.22414, 52)),
    "AMZN": RecordedSeed(
        ("Amazon.com, Inc.", "Amazon.com, Inc."), 216.58, 10_597_699_584, (151.61, 242.52),
        ("Consumer Cyclical", "Internet Retail"), None, (5.52, 6.15), 1.156,
        (207, 266.47952, 270, 306), (1.37681, 63), 1_556_000),
    "GOOG": RecordedSeed(
        ("Alphabet Inc.", "Alphabet Inc."), 181.58, 5_496_999_936, (131.55, 208.7),
        ("Communication Services", "Internet Content & Information"), 0.0044, (8.04, 8.95),
        0.991, (200, 218.72221, 220, 235), (1.6, 18), 183_323),
    "CRM": RecordedSeed(
        ("Salesforce, Inc.", "Salesforce, Inc."), 309.8, 957_000_000, (212, 369),
        ("Technology", "Software - Application"), 0.0052, (6.07, 11.13), 1.307,
        (247, 394.56616, 405, 442), (1.78, 47), 72_682),
    "ABBV": RecordedSeed(
        ("AbbVie Inc.", "AbbVie Inc."), 202.08, 1_765_350_016, (153.58, 207.32),
        ("Healthcare", "Drug Manufacturers - General"), 0.0325, (2.38, 12.13), 0.561,
        (165, 204.43, 210, 239), (1.96296, 26), 55_000),
    "BABA": RecordedSeed(
        ("Alibaba Group Holding Limited", "Alibaba Group Holding Limited"), 143.75,
        2_375_950_080, (68.36, 145.3), ("Consumer Cyclical", "Internet Retail"), 0.0139,
        (6.87, 9.87), 0.308, (86.08602, 152.7521, 160.12865, 190.69434), (1.53659, 39),
        194_320),
    "OCDO.L": RecordedSeed(
        ("OCADO GROUP PLC ORD 2P", "Ocado Group plc"), 309, 823_350_016, (270, 541.346),
        ("Consumer Defensive", "Grocery Stores"), None, None, 1.847,
        (230, 441.38498, 380, 920), (2.92308, 13), 18_869),
    "AZT.OL": RecordedSeed(
        ("ARCTICZYMES TECHNOLOGIES", "ArcticZymes Technologies ASA"), 18.54, 51_071_400,
        (12.34, 31.75), ("Healthcare", "Biotechnology"), None, (0.15, 0.37), 1.085,
        (19, 19, 19, 19), (2, 2)),
    "THYAO.IS": RecordedSeed(
        ("TURK HAVA YOLLARI", "Türk Hava Yollari Anonim Ortakligi"), 313, 1_375_200_000,
        (257.5, 332), ("Industrials", "Airlines"), None, (143.43, 72.02), 0.452,
        (331, 446.3846, 450, 575), (1.30769, 13), 61_159),
    "QQQ": RecordedSeed(("Invesco QQQ Trust, Series 1", "Invesco QQQ Trust"), 526.12,
                        week52=(413.07, 540.81), dividend_yield=0.0054),
    "HISU-U.TO": RecordedSeed(
        ("US HIGH INTEREST SAVINGS ACCOUN", "US High Interest Savings Account Fund"), 100.31,
        week52=(100, 100.49), dividend_yield=0.0492),
    "0P000071W8.TO": RecordedSeed(("TD US Index e", "TD US Index e"), 150.5,
                                  week52=(119.58, 154.69), dividend_yield=0.0073),
    "BTC-USD": RecordedSeed(("Bitcoin USD", "Bitcoin USD"), 96_021.96,
                            week52=(49_121.24, 109_114.88)),
    "EURUSD=X": RecordedSeed(("EUR/USD", "EUR/USD"), 1.0477787,
                             week52=(1.0183818, 1.1212397)),
    "GC=F": RecordedSeed(("Gold Apr 25", "Gold Apr 25"), 2960.4),
    "^VXAPL": RecordedSeed(("CBOE EQUITY VIXON APPLE", "CBOE EQUITY VIXON APPLE"), 25.73),
}


def anchored_fields(recorded: RecordedSeed, price: float, day_range: tuple[float, float],
                    places: int) -> dict[str, Any]:
    """The :class:`~.facts.SymbolFacts` fields ``recorded`` decides, for a symbol drawn at
    ``price`` (prices rounded to ``places``): per-share values scaled from the recorded price
    to ``price``, the 52-week range widened to keep ``day_range`` inside it."""
    scale = price / recorded.price
    fields: dict[str, Any] = {"names": recorded.names}
    if recorded.shares is not None:
        fields["shares"] = recorded.shares
    if recorded.week52 is not None:
        step = 10.0 ** places
        low = math.floor(recorded.week52[0] * scale * step) / step
        high = math.ceil(recorded.week52[1] * scale * step) / step
        if low > 0:
            fields["week52_range"] = (min(low, day_range[0]), max(high, day_range[1]))
    if recorded.sector is not None:
        fields["sector"] = recorded.sector
    if recorded.dividend_yield is not None:
        fields["dividend_yield"] = recorded.dividend_yield
        fields["dividend_rate"] = round(price * recorded.dividend_yield, 4)
    if recorded.eps is not None:
        fields["eps"] = tuple(max(0.01, round(eps * scale, 2)) for eps in recorded.eps)
    if recorded.beta is not None:
        fields["beta"] = recorded.beta
    if recorded.targets is not None:
        fields["targets"] = tuple(round(t * scale, 2) for t in recorded.targets)
    if recorded.recommendation is not None:
        fields["recommendation_mean"], fields["analysts"] = recorded.recommendation
    if recorded.employees is not None:
        fields["employees"] = recorded.employees
    return fields
