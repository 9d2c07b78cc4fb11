"""Prices adjusted as asked, derived from the canonical bars (which are split-adjusted).

Yahoo's chart gives open, high, low, close and volume adjusted for splits (every bar in the
units of today's shares) and ``adjclose`` adjusted for splits and dividends. From those:

* ``"splits"``: the bars as stored.
* ``"splits_dividends"``: open, high, low and close scaled by ``adj_close / close`` per bar,
  as yfinance's ``auto_adjust=True`` does (volume as it is); ``close`` then equals
  ``adj_close``. This is the default: returns computed from it include dividends.
* ``"none"``: splits un-applied, prices as they traded: each bar's prices (and its dividend)
  times the product of the ratios of the splits after it, its volume divided by it (rounded).
  ``adj_close`` stays Yahoo's.

The ``dividends`` and ``splits`` columns are kept in every mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .request import Adjust

_PRICES = ["open", "high", "low", "close"]


def adjust_bars(bars: pd.DataFrame, adjust: Adjust) -> pd.DataFrame:
    """A copy of the canonical ``bars`` adjusted per ``adjust`` (see the module docstring)."""
    out = bars.copy()
    if adjust == "splits" or out.empty:
        return out
    if adjust == "splits_dividends":
        factor = (out["adj_close"] / out["close"]).where(out["close"] != 0, 1.0)
        for column in _PRICES:
            out[column] = out[column] * factor
        return out
    if adjust != "none":
        raise ValueError(f"invalid adjust {adjust!r}")
    ratios = out["splits"].where(out["splits"] > 0, 1.0)
    # The product of the ratios of the splits strictly after each bar.
    later = ratios[::-1].cumprod()[::-1].shift(-1, fill_value=1.0)
    for column in [*_PRICES, "dividends"]:
        out[column] = out[column] * later
    out["volume"] = (out["volume"].astype("Float64") / later).round().astype("Int64")
    return out
