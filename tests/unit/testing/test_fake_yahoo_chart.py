"""The fake Yahoo's chart route: bodies shaped like the recorded ones, values that hold
together (calendars, splits, dividends, adjclose, OHLC order), and the route taking part in
faults, throttling and the request log like the others."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from curl_cffi import requests as curl_requests

from resilient_provider.testing import FakeClock, FakeYahooServer, Fault
from resilient_provider.testing.fake_yahoo import SlidingWindow, YahooChartGenerator
from tests.yahoo_fixtures import FIXTURES_DIR, requires_fixtures

NOW = dt.datetime(2025, 2, 20, 11, 47, 40, tzinfo=dt.UTC).timestamp()  # a Thursday, pre-open


def ask(symbol: str, **params: object) -> tuple[int, dict[str, Any]]:
    generator = YahooChartGenerator(0, now_s=lambda: NOW)
    return generator.chart(symbol, {k: [str(v)] for k, v in params.items()})


def epoch(year: int, month: int, day: int) -> int:
    return int(dt.datetime(year, month, day, tzinfo=dt.UTC).timestamp())


def result_of(body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = body["chart"]["result"][0]
    return result


def recorded(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES_DIR / name).read_text())
    return body


# --- shapes, against the recordings -----------------------------------------------------------

@requires_fixtures
@pytest.mark.parametrize(("name", "symbol"), [
    ("chart_AAPL_2020-08-31_2020-11-07_1d_div-split.json", "AAPL"),
    ("chart_EURUSD=X_2020-01-01_2020-01-03_1d.json", "EURUSD=X"),
    ("chart_BTC-USD_2020-01-01_2020-01-03_1d.json", "BTC-USD"),
    ("chart_GC=F_2020-01-01_2020-01-03_1d.json", "GC=F"),
])
def test_a_daily_body_has_the_recorded_layout(name: str, symbol: str) -> None:
    real = recorded(name)
    real_result = result_of(real)
    status, body = ask(symbol, interval="1d", period1=1598832000, period2=1604707200,
                       events="div|split|earn")
    fake = result_of(body)
    assert status == 200 and set(body["chart"]) == set(real["chart"]) == {"result", "error"}
    assert list(fake["meta"]) == list(real_result["meta"])  # same keys, same order
    assert set(fake["meta"]["currentTradingPeriod"]) == {"pre", "regular", "post"}
    assert set(fake["indicators"]) == set(real_result["indicators"]) == {"quote", "adjclose"}
    assert set(fake["indicators"]["quote"][0]) == set(real_result["indicators"]["quote"][0])
    assert len(fake["indicators"]["adjclose"][0]["adjclose"]) == len(fake["timestamp"])
    for key, value in real_result["meta"].items():
        assert type(fake["meta"][key]) is type(value) or isinstance(value, float), key


@requires_fixtures
def test_events_have_the_recorded_layout() -> None:
    real = result_of(recorded("chart_AAPL_2020-08-31_2020-11-07_1d_div-split.json"))["events"]
    _, body = ask("AAPL", interval="1d", period1=1598832000, period2=1604707200,
                  events="div|split")
    fake = result_of(body)["events"]
    assert set(fake) == set(real) == {"dividends", "splits"}
    for kind in ("dividends", "splits"):
        _, real_event = next(iter(real[kind].items()))
        fake_key, fake_event = next(iter(fake[kind].items()))
        assert list(fake_event) == list(real_event) and int(fake_key) == fake_event["date"]
    assert fake["splits"] == real["splits"]  # AAPL's 4:1 of 2020-08-31, exactly as recorded


@requires_fixtures
def test_a_weekend_is_a_200_with_meta_only() -> None:
    real = result_of(recorded("chart_AAPL_2025-02-01_2025-02-02_1m.json"))
    status, body = ask("AAPL", interval="1m", period1=1738368000, period2=1738454400)
    fake = result_of(body)
    assert status == 200 and set(fake) == set(real) == {"meta", "indicators"}
    assert fake["indicators"] == real["indicators"] == {"quote": [{}]}
    assert list(fake["meta"]) == list(real["meta"])
    assert fake["meta"]["chartPreviousClose"] == ask("AAPL", interval="1d", period1=epoch(
        2025, 1, 31), period2=epoch(2025, 2, 1))[1]["chart"]["result"][0]["indicators"][
        "quote"][0]["close"][0]  # Friday's close


@requires_fixtures
def test_a_range_before_the_first_trade_is_the_recorded_400() -> None:
    real = recorded("chart_BEKE_2020-01-01_2020-01-03_1d_400.json")
    status, body = ask("AAPL", interval="1d", period1=100, period2=200)
    assert status == 400
    assert body == {"chart": {"result": None, "error": {
        "code": real["chart"]["error"]["code"],
        "description": "Data doesn't exist for startDate = 100, endDate = 200"}}}


@requires_fixtures
def test_an_unknown_symbol_is_the_recorded_404() -> None:
    with FakeYahooServer(unknown_symbols=["SI"]) as yahoo:
        response = curl_requests.get(f"{yahoo.base_url}/v8/finance/chart/SI?interval=1d")
    assert response.status_code == 404
    assert response.json() == recorded("chart_SI_2020-01-01_2020-01-03_1d_404.json")


def test_an_intraday_body_has_trading_periods_and_no_adjclose() -> None:
    status, body = ask("MSFT", interval="5m", period1=epoch(2025, 2, 18), period2=epoch(2025, 2, 20))
    result = result_of(body)
    assert status == 200 and set(result["indicators"]) == {"quote"}
    assert len(result["meta"]["tradingPeriods"]) == 2  # Tue and Wed
    assert len(result["timestamp"]) == 2 * 78  # 6.5 hours of 5-minute bars per day
    assert {"previousClose", "scale"} <= set(result["meta"])


# --- values --------------------------------------------------------------------------------

def bars(symbol: str, interval: str, start: int, end: int, **more: object) -> dict[str, Any]:
    status, body = ask(symbol, interval=interval, period1=start, period2=end, **more)
    assert status == 200, body
    return result_of(body)


def weekdays(stamps: list[int], tz: str = "UTC") -> set[str]:
    return {dt.datetime.fromtimestamp(s, ZoneInfo(tz)).strftime("%a") for s in stamps}


def test_calendars_equities_weekdays_crypto_every_day_fx_round_the_clock() -> None:
    start, end = epoch(2024, 3, 4), epoch(2024, 3, 18)
    assert weekdays(bars("AAPL", "1d", start, end)["timestamp"]) <= {
        "Mon", "Tue", "Wed", "Thu", "Fri"}
    assert len(bars("BTC-USD", "1d", start, end)["timestamp"]) == 14
    fx = bars("EURUSD=X", "1h", epoch(2024, 3, 8), epoch(2024, 3, 12))  # Fri..Mon
    assert len(fx["timestamp"]) == 2 * 24 and weekdays(fx["timestamp"]) == {"Fri", "Mon"}
    day = bars("AAPL", "1m", epoch(2024, 3, 5), epoch(2024, 3, 6))["timestamp"]
    assert (day[0], day[-1] + 60) == (epoch(2024, 3, 5) + 14 * 3600 + 1800,
                                       epoch(2024, 3, 5) + 21 * 3600)  # 09:30-16:00 EST


@pytest.mark.parametrize(("symbol", "day", "ratio"), [
    ("AAPL", dt.date(2020, 8, 31), (4, 1)), ("NVDA", dt.date(2021, 7, 20), (4, 1))])
def test_known_splits_are_events_and_prices_stay_split_adjusted(
    symbol: str, day: dt.date, ratio: tuple[int, int]
) -> None:
    around = [dt.datetime.combine(day + dt.timedelta(days=d), dt.time(0), dt.UTC)
              for d in (-3, 3)]
    result = bars(symbol, "1d", int(around[0].timestamp()), int(around[1].timestamp()),
                  events="split")
    (split,) = result["events"]["splits"].values()
    assert (split["numerator"], split["denominator"]) == ratio
    assert dt.datetime.fromtimestamp(split["date"], dt.UTC).date() == day
    closes = result["indicators"]["quote"][0]["close"]
    assert max(closes) / min(closes) < 1.5  # no 4x jump: Yahoo's OHLC are split-adjusted


def test_msft_pays_quarterly_and_adjclose_steps_by_each_dividend() -> None:
    result = bars("MSFT", "1d", epoch(2021, 2, 1), epoch(2022, 1, 31), events="div")
    paid = sorted(result["events"]["dividends"].values(), key=lambda d: d["date"])
    assert [dt.datetime.fromtimestamp(d["date"], dt.UTC).month for d in paid] == [2, 5, 8, 11]
    stamps, quote = result["timestamp"], result["indicators"]["quote"][0]
    factor = [a / c for a, c in zip(result["indicators"]["adjclose"][0]["adjclose"],
                                    quote["close"], strict=True)]
    for dividend in paid:
        i = stamps.index(dividend["date"])
        # the day before the ex-date is adjusted by (1 - amount / its close) more
        assert factor[i - 1] / factor[i] == pytest.approx(
            1 - dividend["amount"] / quote["close"][i - 1], rel=1e-9)
    assert all(f <= 1 for f in factor)


@pytest.mark.parametrize("interval", ["1m", "1h", "1d", "1wk", "1mo"])
def test_bars_hold_together(interval: str) -> None:
    start = epoch(2025, 1, 6) if interval in ("1m", "1h") else epoch(2023, 1, 1)
    result = bars("AAPL", interval, start, epoch(2025, 1, 10))
    quote = result["indicators"]["quote"][0]
    for o, h, low, c, v in zip(quote["open"], quote["high"], quote["low"], quote["close"],
                               quote["volume"], strict=True):
        assert h >= max(o, c) >= min(o, c) >= low > 0 and v >= 0
    assert result["timestamp"] == sorted(set(result["timestamp"]))


def test_minute_bars_add_up_to_the_day() -> None:
    day = bars("AAPL", "1d", epoch(2025, 1, 7), epoch(2025, 1, 8))["indicators"]["quote"][0]
    minutes = bars("AAPL", "1m", epoch(2025, 1, 7), epoch(2025, 1, 8))["indicators"]["quote"][0]
    assert (minutes["open"][0], minutes["close"][-1]) == (day["open"][0], day["close"][0])
    assert (max(minutes["high"]), min(minutes["low"])) == (day["high"][0], day["low"][0])
    assert sum(minutes["volume"]) == day["volume"][0]


def test_the_same_seed_and_now_give_the_same_body_any_range_the_same_bars() -> None:
    a = bars("AAPL", "1d", epoch(2024, 1, 1), epoch(2024, 7, 1))
    b = bars("AAPL", "1d", epoch(2024, 3, 1), epoch(2024, 4, 1))
    assert a == bars("AAPL", "1d", epoch(2024, 1, 1), epoch(2024, 7, 1))
    start = a["timestamp"].index(b["timestamp"][0])
    assert a["indicators"]["quote"][0]["close"][start:start + len(b["timestamp"])] == \
        b["indicators"]["quote"][0]["close"]


def test_range_parameter_and_the_live_last_bar() -> None:
    result = bars_range = result_of(ask("AAPL", interval="1d", range="5d")[1])
    assert result["meta"]["range"] == "5d" and len(bars_range["timestamp"]) == 5
    # the latest session's bar is stamped at regularMarketTime, as Yahoo stamps the live row
    assert result["timestamp"][-1] == result["meta"]["regularMarketTime"]


# --- the route in the server ---------------------------------------------------------------

def test_the_chart_route_is_logged_faulted_and_throttled_like_the_others() -> None:
    clock = FakeClock()
    with FakeYahooServer(clock=clock) as yahoo:
        url = f"{yahoo.base_url}/v8/finance/chart/AAPL?interval=1d&range=5d"
        assert curl_requests.get(url).status_code == 200
        yahoo.inject(Fault.server_error(503), route="chart", times=1)
        assert curl_requests.get(url).status_code == 503
        yahoo.throttle(SlidingWindow(1, window_s=60))
        assert curl_requests.get(url).status_code == 200
        refused = curl_requests.get(url)
        assert (refused.status_code, refused.text) == (429, "Too Many Requests\r\n")
        assert yahoo.count(route="chart", symbol="AAPL") == 4
        assert yahoo.count(route="chart", fault="throttled") == 1


def test_a_recorded_body_is_served_verbatim_whatever_the_query() -> None:
    body = b'{"chart":{"result":null,"error":{"code":"Bad Request","description":"x"}}}'
    with FakeYahooServer() as yahoo:
        yahoo.serve_recorded(route="chart", symbol="beke", body=body, status=400)
        response = curl_requests.get(f"{yahoo.base_url}/v8/finance/chart/BEKE?range=1y")
        other = curl_requests.get(f"{yahoo.base_url}/v8/finance/chart/MSFT?range=1y")
        with pytest.raises(ValueError, match="'quote'"):
            yahoo.serve_recorded(route="quote", symbol="AAPL", body=body)
    assert (response.status_code, response.content) == (400, body)
    assert other.status_code == 200
