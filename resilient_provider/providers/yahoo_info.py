"""Yahoo's quoteSummary modules and v7 quote, merged into the canonical info dict.

Both adapters read the same two Yahoo endpoints and must hand back the same keys, types and
units. yfinance merges them itself (``Ticker.info``: the modules flattened, then the v7 quote on
top); :func:`merge_modules` does the same for yahooquery's per-module answer, and
:func:`canonical_units` fixes the one unit the two endpoints disagree on:

* ``dividendYield`` is a fraction in quoteSummary's summaryDetail (AAPL 0.0041) but a percent in
  the v7 quote (AAPL 0.41). The canonical value is the **fraction**, like every other yield Yahoo
  sends (``yield``, ``trailingAnnualDividendYield``, ``fiveYearAvgDividendYield`` excepted, which
  Yahoo sends in percent in both places and we pass on untouched).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .canonical import with_core_fields

#: The modules yahooquery asks for (yfinance asks for its own five, without price/summaryProfile).
INFO_MODULES = (
    "price",
    "summaryDetail",
    "financialData",
    "defaultKeyStatistics",
    "assetProfile",
    "summaryProfile",
    "quoteType",
)

#: Fields whose v7 value is in percent where the canonical (quoteSummary) value is a fraction.
PERCENT_IN_V7 = ("dividendYield",)


def _flatten_into(target: dict[str, Any], values: Mapping[str, Any]) -> None:
    """yfinance's flattening: one level of nesting lifted up, None values skipped."""
    for key, value in values.items():
        if isinstance(value, dict) and "raw" not in value:
            for inner_key, inner in value.items():
                if inner is not None:
                    target[inner_key] = inner
        elif isinstance(value, dict):
            target[key] = value.get("raw")
        elif value is not None:
            target[key] = value


def merge_modules(
    modules: Mapping[str, Any], quote: Mapping[str, Any] | None, *, symbol: str
) -> dict[str, Any]:
    """Flatten quoteSummary ``modules`` and lay the v7 ``quote`` entry over them, as yfinance does.

    ``maxAge`` is dropped: it differs per module and says nothing about the data.
    """
    merged: dict[str, Any] = {}
    _flatten_into(merged, {name: modules[name] for name in INFO_MODULES
                           if isinstance(modules.get(name), dict)})
    if quote:
        _flatten_into(merged, quote)
    merged.pop("maxAge", None)
    merged["symbol"] = symbol
    return merged


def canonical_units(info: Mapping[str, Any], *, quote_keys: frozenset[str]) -> dict[str, Any]:
    """``info`` with every core field present and v7 percents turned into fractions.

    ``quote_keys`` are the keys the v7 quote entry carried: only a value that came from v7 is in
    percent (when v7 lacked the field, the value is summaryDetail's fraction already).
    """
    data = dict(info)
    data.pop("maxAge", None)
    for key in PERCENT_IN_V7:
        value = data.get(key)
        if key in quote_keys and isinstance(value, int | float) and not isinstance(value, bool):
            data[key] = round(value / 100, 10)
    return with_core_fields(data)


def has_any_data(info: Mapping[str, Any]) -> bool:
    """False for yfinance's "nothing found" shapes (``{}``, ``{'trailingPegRatio': None}``)."""
    return any(value is not None for key, value in info.items()
               if key not in ("trailingPegRatio", "symbol"))
