"""Both adapters on real recorded chart responses: one canonical frame, Yahoo's own values.

The fake Yahoo serves each recorded ``chart_*.json`` body verbatim (``serve_recorded``), so
yfinance's and yahooquery's own history code read exactly what Yahoo sent (skipped when the
recordings are absent).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from resilient_provider.history.bars import BAR_COLUMNS, BAR_DTYPES
from resilient_provider.providers.yahooquery import YahooQueryProvider
from resilient_provider.providers.yfinance import YFinanceProvider
from resilient_provider.testing import FakeYahooServer
from resilient_provider.testing.fake_yahoo import YahooChartGenerator
from tests.yahoo_fixtures import FIXTURES_DIR, requires_fixtures

pytestmark = requires_fixtures

#: symbol -> (recorded file, period1, period2, interval), the request of each recording.
RECORDED = {
    "AAPL": ("chart_AAPL_2020-08-31_2020-11-07_1d_div-split.json", 1598832000, 1604707200),
    "MSFT": ("chart_MSFT_2021-02-01_2022-01-31_1d_div.json", 1612137600, 1643587200),
    "NVDA": ("chart_NVDA_2021-02-01_2022-01-31_1d_split.json", 1612137600, 1643587200),
    "EURUSD=X": ("chart_EURUSD=X_2020-01-01_2020-01-03_1d.json", 1577836800, 1578009600),
    "BTC-USD": ("chart_BTC-USD_2020-01-01_2020-01-03_1d.json", 1577836800, 1578009600),
    "GC=F": ("chart_GC=F_2020-01-01_2020-01-03_1d.json", 1577836800, 1578009600),
}
WEEKEND_1M = ("chart_AAPL_2025-02-01_2025-02-02_1m.json", 1738368000, 1738454400)
#: 2025-02-20 11:47:40 UTC, when node-yahoo-finance2 recorded most of the chart bodies.
RECORDED_NOW = dt.datetime(2025, 2, 20, 11, 47, 40, tzinfo=dt.UTC).timestamp()


def utc(epoch_s: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC)


def recorded_result(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((FIXTURES_DIR / name).read_text())["chart"]["result"][0]
    return result


Frames = dict[str, dict[str, object]]


def fetch_both(yahoo: FakeYahooServer, symbols: list[str], start: int, end: int,
               interval: str) -> dict[str, dict[str, object]]:
    yf = YFinanceProvider(base_url=yahoo.base_url, timeout_s=5)
    yq = YahooQueryProvider(base_url=yahoo.base_url, timeout_s=5)
    try:
        return {name: dict(adapter.fetch_history(symbols, start=utc(start), end=utc(end),
                                                 interval=interval))
                for name, adapter in (("yfinance", yf), ("yahooquery", yq))}
    finally:
        yf.close()
        yq.close()


@pytest.fixture(scope="module")
def recorded_frames() -> Iterator[dict[str, dict[str, object]]]:
    """Each recorded daily chart fetched through both adapters (one symbol per call: each
    recording has its own range)."""
    frames: dict[str, dict[str, object]] = {"yfinance": {}, "yahooquery": {}}
    with FakeYahooServer() as yahoo:
        for symbol, (name, start, end) in RECORDED.items():
            yahoo.serve_recorded(route="chart", symbol=symbol, body=FIXTURES_DIR / name)
            for library, answers in fetch_both(yahoo, [symbol], start, end, "1d").items():
                frames[library][symbol] = answers[symbol]
        yield frames


def frame_of(frames: dict[str, dict[str, object]], library: str, symbol: str) -> pd.DataFrame:
    frame = frames[library][symbol]
    assert isinstance(frame, pd.DataFrame), f"{library} answered {frame!r}"
    return frame


@pytest.mark.parametrize("symbol", sorted(RECORDED))
def test_both_adapters_give_equal_canonical_frames(
    recorded_frames: dict[str, dict[str, object]], symbol: str
) -> None:
    via_yf = frame_of(recorded_frames, "yfinance", symbol)
    via_yq = frame_of(recorded_frames, "yahooquery", symbol)
    pd.testing.assert_frame_equal(via_yf, via_yq, check_exact=False, rtol=1e-12)
    assert tuple(via_yf.columns) == BAR_COLUMNS
    assert {c: str(t) for c, t in via_yf.dtypes.items()} == BAR_DTYPES
    assert via_yf.index.name == "timestamp" and via_yf.index.is_monotonic_increasing


@pytest.mark.parametrize("symbol", sorted(RECORDED))
def test_values_are_yahoos_own_close_and_adjclose(
    recorded_frames: dict[str, dict[str, object]], symbol: str
) -> None:
    name, _, end = RECORDED[symbol]
    result = recorded_result(name)
    meta = result["meta"]
    kept = [i for i, stamp in enumerate(result["timestamp"]) if stamp < end]
    quote, adjclose = result["indicators"]["quote"][0], result["indicators"]["adjclose"][0]
    frame = frame_of(recorded_frames, "yfinance", symbol)
    assert str(pd.DatetimeIndex(frame.index).tz) == meta["exchangeTimezoneName"]
    # one bar per recorded bar in [period1, period2), at local midnight of its day
    days = [pd.Timestamp(result["timestamp"][i], unit="s", tz="UTC")
            .tz_convert(meta["exchangeTimezoneName"]).normalize() for i in kept]
    assert list(frame.index) == days
    assert list(frame["close"]) == [quote["close"][i] for i in kept]
    assert list(frame["adj_close"]) == [adjclose["adjclose"][i] for i in kept]
    assert list(frame["volume"]) == [quote["volume"][i] for i in kept]


def test_a_bar_yahoo_appends_past_the_end_is_dropped_by_both(
    recorded_frames: dict[str, dict[str, object]],
) -> None:
    # BTC-USD's recording asks 2020-01-01..01-03 and gets a bar stamped 01-03 00:00 as well
    result = recorded_result(RECORDED["BTC-USD"][0])
    assert result["timestamp"][-1] == RECORDED["BTC-USD"][2]
    for library in ("yfinance", "yahooquery"):
        assert len(frame_of(recorded_frames, library, "BTC-USD")) == 2


def test_aapl_2020_split_and_dividend_land_on_their_days(
    recorded_frames: dict[str, dict[str, object]],
) -> None:
    frame = frame_of(recorded_frames, "yahooquery", "AAPL")
    ny = "America/New_York"
    assert frame.loc[pd.Timestamp("2020-08-31", tz=ny), "splits"] == 4.0
    assert frame.loc[pd.Timestamp("2020-11-06", tz=ny), "dividends"] == 0.205
    assert (frame["splits"] != 0).sum() == 1 and (frame["dividends"] != 0).sum() == 1
    # Yahoo's OHLC are split-adjusted (no 4x jump at the split); adj_close also for dividends
    assert frame["close"].iloc[0] == pytest.approx(129.04, abs=0.01)
    assert (frame["adj_close"] < frame["close"]).all()


def test_msft_quarterly_dividends_and_nvda_split(
    recorded_frames: dict[str, dict[str, object]],
) -> None:
    msft = frame_of(recorded_frames, "yfinance", "MSFT")
    paid = msft.loc[msft["dividends"] != 0, "dividends"]
    assert [d.strftime("%Y-%m-%d") for d in paid.index] == [
        "2021-02-17", "2021-05-19", "2021-08-18", "2021-11-17"]
    assert list(paid) == [0.56, 0.56, 0.56, 0.62]
    nvda = frame_of(recorded_frames, "yfinance", "NVDA")
    split = nvda.loc[nvda["splits"] != 0, "splits"]
    assert [d.strftime("%Y-%m-%d") for d in split.index] == ["2021-07-20"]
    assert list(split) == [4.0]


def test_a_weekend_minute_range_is_an_empty_frame_in_the_exchange_zone() -> None:
    name, start, end = WEEKEND_1M
    with FakeYahooServer() as yahoo:
        yahoo.serve_recorded(route="chart", symbol="AAPL", body=FIXTURES_DIR / name)
        answers = fetch_both(yahoo, ["AAPL"], start, end, "1m")
    for library, answer in answers.items():
        frame = answer["AAPL"]
        assert isinstance(frame, pd.DataFrame), f"{library} answered {frame!r}"
        assert frame.empty and tuple(frame.columns) == BAR_COLUMNS
        assert str(pd.DatetimeIndex(frame.index).tz) == "America/New_York"


def test_a_generated_minute_day_is_the_same_frame_through_both() -> None:
    # No recorded intraday day with bars exists: the fake's generated 1m body stands in.
    charts = YahooChartGenerator(5, now_s=lambda: RECORDED_NOW)
    start = int(dt.datetime(2025, 2, 19, tzinfo=dt.UTC).timestamp())
    with FakeYahooServer(seed=5, charts=charts) as yahoo:
        answers = fetch_both(yahoo, ["AAPL"], start, start + 86_400, "1m")
    via_yf, via_yq = answers["yfinance"]["AAPL"], answers["yahooquery"]["AAPL"]
    assert isinstance(via_yf, pd.DataFrame) and isinstance(via_yq, pd.DataFrame)
    pd.testing.assert_frame_equal(via_yf, via_yq, check_exact=False, rtol=1e-12)
    assert len(via_yf) == 390  # 09:30-16:00 New York
    assert via_yf.index[0] == pd.Timestamp("2025-02-19 09:30", tz="America/New_York")
    assert (via_yf["adj_close"] == via_yf["close"]).all()  # intraday: no adjclose from Yahoo
