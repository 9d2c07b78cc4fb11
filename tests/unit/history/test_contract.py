"""The data contract for bars: a broken answer is a DataContractError, which falls over."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from resilient_provider.errors import DataContractError
from resilient_provider.history.contract import BarRange, check_bars
from resilient_provider.testing import make_bars

START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
ASKED = BarRange(START.timestamp(), END.timestamp(), END.timestamp(), 10 * 86400)


def bars() -> pd.DataFrame:
    return make_bars("MSFT", START, END, dividends={"2024-02-14": 0.75},
                     splits={"2024-01-22": 2.0})


def check(frame: object, asked: BarRange = ASKED) -> pd.DataFrame | DataContractError:
    return check_bars("MSFT", frame, provider="p", asked=asked)


def broken(frame: object, asked: BarRange = ASKED) -> str:
    result = check(frame, asked)
    assert isinstance(result, DataContractError), "the contract held"
    assert result.symbol == "MSFT" and result.provider == "p"
    return result.message


def test_good_bars_pass_with_columns_in_order_and_dtypes_coerced() -> None:
    frame = bars()[["volume", "close", "open", "high", "low", "adj_close", "splits",
                    "dividends"]].astype({"volume": "int64"})
    result = check(frame)
    assert isinstance(result, pd.DataFrame)
    assert list(result.columns) == list(bars().columns)
    assert str(result["volume"].dtype) == "Int64"


def test_not_a_frame_or_a_naive_index_breaks_it() -> None:
    assert "not a DataFrame" in broken({"close": [1.0]})
    frame = bars()
    frame.index = pd.DatetimeIndex(frame.index).tz_localize(None)
    assert "tz-aware" in broken(frame)


def test_unsorted_or_duplicated_timestamps_break_it() -> None:
    assert "strictly increasing" in broken(bars().iloc[::-1])
    frame = bars()
    assert "strictly increasing" in broken(pd.concat([frame.iloc[:3], frame.iloc[2:]]))


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("high", 1.0, "high below max(open, close)"),
    ("low", 10_000.0, "low above min(open, close)"),
    ("volume", -5, "negative volume"),
    ("close", float("nan"), "missing or infinite price"),
    ("dividends", -0.1, "negative or missing dividend"),
])
def test_a_bad_bar_breaks_it(column: str, value: float, reason: str) -> None:
    frame = bars()
    frame.loc[frame.index[5], column] = value
    assert reason in broken(frame)


def test_adj_close_ratio_changing_without_a_dividend_breaks_it() -> None:
    frame = bars()
    frame.loc[frame.index[:3], "adj_close"] *= 0.9
    assert "with no dividend there" in broken(frame)


def test_a_split_shown_as_a_price_jump_breaks_it() -> None:
    frame = bars()
    before = frame.index < "2024-01-22"
    for column in ("open", "high", "low", "close", "adj_close"):
        frame.loc[before, column] *= 2.0  # the bars before the 2:1 split left unadjusted
    assert "split" in broken(frame)


def test_a_range_cut_short_or_a_gap_inside_it_is_a_partial_answer() -> None:
    frame = bars()
    assert "cut short" in broken(frame[frame.index < "2024-02-01"])
    assert "gap of" in broken(frame[(frame.index < "2024-01-10") | (frame.index > "2024-02-01")])
    assert "none in a range" in broken(frame.iloc[:0])


def test_the_gap_rule_can_be_turned_off_and_a_late_listing_is_no_gap() -> None:
    frame = bars()
    off = BarRange(ASKED.start_s, ASKED.end_s, ASKED.now_s, 0)
    assert isinstance(check(frame[frame.index < "2024-02-01"], off), pd.DataFrame)
    assert isinstance(check(frame[frame.index > "2024-02-01"]), pd.DataFrame)
