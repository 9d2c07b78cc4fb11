"""The body generator: deterministic, self-consistent, and shaped like Yahoo's real answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resilient_provider.testing import YahooBodyGenerator
from resilient_provider.testing.fake_yahoo.bodies import quote_type_of
from tests.yahoo_fixtures import recorded_quote, recorded_quote_summary, requires_fixtures

INFO_MODULES = ("price", "summaryDetail", "financialData", "defaultKeyStatistics",
                "assetProfile", "summaryProfile", "quoteType")

symbols = st.from_regex(r"\^?[A-Z]{1,5}(\.[A-Z]{1,2}|=X|=F|-USD)?", fullmatch=True)


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize(("symbol", "kind"), [
    ("AAPL", "EQUITY"), ("QQQ", "ETF"), ("EURUSD=X", "CURRENCY"), ("GC=F", "FUTURE"),
    ("BTC-USD", "CRYPTOCURRENCY"), ("^GSPC", "INDEX"), ("0P000071W8.TO", "MUTUALFUND"),
    ("OCDO.L", "EQUITY"),
])
def test_the_quote_type_follows_the_symbols_shape(symbol: str, kind: str) -> None:
    assert quote_type_of(symbol) == kind


@given(symbols)
def test_same_seed_and_symbol_give_the_same_bodies(symbol: str) -> None:
    one, two = YahooBodyGenerator(seed=5), YahooBodyGenerator(seed=5)
    assert as_json(one.quote_summary(symbol, INFO_MODULES)) == as_json(
        two.quote_summary(symbol, INFO_MODULES))
    assert as_json(one.quote(symbol)) == as_json(two.quote(symbol))


def test_other_symbols_and_seeds_differ() -> None:
    gen = YahooBodyGenerator(seed=5)
    assert gen.quote("AAPL")["regularMarketPrice"] != gen.quote("MSFT")["regularMarketPrice"]  # type: ignore[index]
    assert YahooBodyGenerator(seed=6).quote("AAPL") != gen.quote("AAPL")


@given(symbols)
def test_a_module_does_not_depend_on_which_others_were_asked_for(symbol: str) -> None:
    gen = YahooBodyGenerator(seed=1)
    alone = gen.quote_summary(symbol, ["summaryDetail"])
    together = gen.quote_summary(symbol, INFO_MODULES)
    assert alone is not None and together is not None
    assert alone.get("summaryDetail") == together.get("summaryDetail")


@given(symbols)
def test_the_values_are_consistent(symbol: str) -> None:
    gen = YahooBodyGenerator(seed=3)
    modules = gen.quote_summary(symbol, INFO_MODULES)
    quote = gen.quote(symbol)
    assert modules is not None and quote is not None
    price = modules["price"]["regularMarketPrice"]
    assert price > 0 and quote["regularMarketPrice"] == price
    assert modules["price"]["symbol"] == quote["symbol"] == symbol
    detail = modules["summaryDetail"]
    assert detail["fiftyTwoWeekLow"] <= price <= detail["fiftyTwoWeekHigh"]
    if "financialData" in modules:
        assert modules["financialData"]["currentPrice"] == price
    if "marketCap" in modules["price"] and "sharesOutstanding" in quote:
        assert modules["price"]["marketCap"] == int(price * quote["sharesOutstanding"])
    if "dividendYield" in detail:
        assert 0 <= detail["dividendYield"] < 0.1  # a fraction in summaryDetail ...
        assert quote["dividendYield"] == round(detail["dividendYield"] * 100, 2)  # ... % in v7


def test_set_price_overrides_the_generated_price() -> None:
    gen = YahooBodyGenerator()
    gen.set_price("AAPL", 123.5)
    assert gen.quote("AAPL")["regularMarketPrice"] == 123.5  # type: ignore[index]
    with pytest.raises(ValueError, match="-1"):
        gen.set_price("AAPL", -1)


def test_timeseries_answers_each_type_for_an_equity() -> None:
    item = YahooBodyGenerator().timeseries("AAPL", ["trailingPegRatio"])
    assert item["meta"]["type"] == ["trailingPegRatio"]
    assert item["trailingPegRatio"][0]["reportedValue"]["raw"] > 0


# --- against the recorded real responses ---------------------------------------------------------

RECORDED = {"AAPL": "EQUITY", "QQQ": "ETF", "EURUSD=X": "CURRENCY", "GC=F": "FUTURE",
            "BTC-USD": "CRYPTOCURRENCY", "^VXAPL": "INDEX"}


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(generated: dict[str, Any], recorded: dict[str, Any], where: str) -> None:
    assert set(generated) == set(recorded), (
        f"{where}: missing {sorted(set(recorded) - set(generated))}, "
        f"extra {sorted(set(generated) - set(recorded))}")
    for key, value in recorded.items():
        if value is None:
            continue  # a recorded null allows anything
        assert json_type(generated[key]) == json_type(value), f"{where}.{key}"


@requires_fixtures
@pytest.mark.parametrize("symbol", sorted(RECORDED))
def test_generated_modules_have_the_recorded_shape(symbol: str) -> None:
    recorded = {m: v for m, v in recorded_quote_summary(symbol).items() if m in INFO_MODULES}
    generated = YahooBodyGenerator().quote_summary(symbol, INFO_MODULES)
    assert generated is not None
    assert quote_type_of(symbol) == RECORDED[symbol] == recorded["quoteType"]["quoteType"]
    assert set(generated) == set(recorded)
    for module, body in recorded.items():
        assert_same_shape(generated[module], body, f"{symbol}.{module}")


# v7 keys Yahoo sends only at some times of day or for some listings; the generator leaves them
# out (or adds them) on purpose, and says so here.
V7_OPTIONAL = {"postMarketTime", "postMarketChangePercent", "postMarketPrice", "postMarketChange",
               "earningsTimestampStart", "earningsTimestampEnd", "earningsCallTimestampStart",
               "earningsCallTimestampEnd", "isEarningsDateEstimate", "bid", "ask", "bidSize",
               "askSize", "financialCurrency", "dividendDate", "earningsTimestamp"}


@requires_fixtures
@pytest.mark.parametrize("symbol", ["AAPL", "QQQ", "EURUSD=X", "BTC-USD"])
def test_the_generated_v7_entry_has_the_recorded_shape(symbol: str) -> None:
    recorded = recorded_quote(symbol)
    generated = YahooBodyGenerator().quote(symbol)
    assert generated is not None
    assert_same_shape({k: v for k, v in generated.items() if k not in V7_OPTIONAL},
                      {k: v for k, v in recorded.items() if k not in V7_OPTIONAL}, f"v7 {symbol}")
    for key in set(generated) & set(recorded) & V7_OPTIONAL:
        assert json_type(generated[key]) == json_type(recorded[key]), f"v7 {symbol}.{key}"
