"""Adjustment derived from the canonical split-adjusted bars."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from resilient_provider.history.adjust import adjust_bars
from resilient_provider.testing import make_bars

START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)
BARS = make_bars("AAPL", START, END, dividends={"2024-02-09": 0.5},
                 splits={"2024-01-16": 4.0, "2024-03-11": 2.0})


def test_splits_is_the_bars_as_stored() -> None:
    assert adjust_bars(BARS, "splits").equals(BARS)


def test_splits_dividends_scales_ohlc_by_adj_close_over_close_as_auto_adjust_does() -> None:
    adjusted = adjust_bars(BARS, "splits_dividends")
    factor = BARS["adj_close"] / BARS["close"]
    assert (adjusted["close"] - BARS["adj_close"]).abs().max() < 1e-9
    assert (adjusted["open"] - BARS["open"] * factor).abs().max() < 1e-9
    assert factor.iloc[0] < 1.0 == pytest.approx(factor.iloc[-1])  # dividend after bar 0
    assert adjusted["volume"].equals(BARS["volume"])


def test_none_unapplies_later_splits_to_prices_and_volume() -> None:
    raw = adjust_bars(BARS, "none")
    before_both = BARS.index < "2024-01-16"
    between = (BARS.index >= "2024-01-16") & (BARS.index < "2024-03-11")
    after = BARS.index >= "2024-03-11"
    assert (raw["close"][before_both] / BARS["close"][before_both]).round(9).unique().tolist() \
        == [8.0]
    assert (raw["close"][between] / BARS["close"][between]).round(9).unique().tolist() == [2.0]
    assert raw["close"][after].equals(BARS["close"][after])
    first = BARS.index[0]
    assert raw.loc[first, "volume"] == round(BARS.loc[first, "volume"] / 8)
    assert raw["adj_close"].equals(BARS["adj_close"])
