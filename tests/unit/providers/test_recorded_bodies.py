"""Both adapters on real recorded Yahoo responses: same core fields, same units, real values.

The fake Yahoo serves the recorded bodies from ../shared/fixtures/yahoo/ (skipped when absent),
so yfinance's and yahooquery's own parsers read exactly what Yahoo sent.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from resilient_provider.providers.canonical import CORE_FIELDS
from resilient_provider.providers.yahoo_info import canonical_units, merge_modules
from resilient_provider.providers.yahooquery import YahooQueryProvider
from resilient_provider.providers.yfinance import YFinanceProvider
from resilient_provider.strategy.contract import check_info
from resilient_provider.testing import FakeYahooServer
from tests.yahoo_fixtures import (
    RECORDED_PAIRS,
    RecordedYahooBodies,
    recorded_quote,
    recorded_quote_summary,
    requires_fixtures,
)

pytestmark = requires_fixtures

QUOTE_SUMMARY_ONLY = ("ABBV", "AMZN", "GOOG", "CRM", "BABA", "OCDO.L", "THYAO.IS", "AZT.OL")


@pytest.fixture(scope="module")
def answers() -> Iterator[dict[str, dict[str, object]]]:
    """Every recorded symbol fetched once through each adapter."""
    symbols = [*RECORDED_PAIRS, *QUOTE_SUMMARY_ONLY]
    with FakeYahooServer(bodies=RecordedYahooBodies()) as yahoo:
        yf = YFinanceProvider(base_url=yahoo.base_url, timeout_s=5)
        yq = YahooQueryProvider(base_url=yahoo.base_url, timeout_s=5)
        try:
            yield {"yfinance": dict(yf.fetch_info(symbols)),
                   "yahooquery": dict(yq.fetch_info(symbols))}
        finally:
            yf.close()
            yq.close()


@pytest.mark.parametrize("symbol", RECORDED_PAIRS)
def test_both_adapters_give_equal_core_fields(
    answers: dict[str, dict[str, object]], symbol: str
) -> None:
    via_yf, via_yq = answers["yfinance"][symbol], answers["yahooquery"][symbol]
    assert isinstance(via_yf, dict) and isinstance(via_yq, dict)
    assert {k: via_yf[k] for k in CORE_FIELDS} == {k: via_yq[k] for k in CORE_FIELDS}
    assert isinstance(check_info(symbol, via_yf, provider="yfinance"), dict)


def test_aapl_has_the_recorded_values_in_canonical_units(
    answers: dict[str, dict[str, object]],
) -> None:
    info = answers["yfinance"]["AAPL"]
    assert isinstance(info, dict)
    v7 = recorded_quote("AAPL")
    assert v7["dividendYield"] == 0.41  # Yahoo's v7 percent ...
    assert info["dividendYield"] == pytest.approx(0.0041)  # ... is a fraction here
    assert info["regularMarketPrice"] == v7["regularMarketPrice"]
    assert info["currentPrice"] == recorded_quote_summary("AAPL")["financialData"]["currentPrice"]
    assert (info["sector"], info["industry"]) == ("Technology", "Consumer Electronics")
    assert info["recommendationKey"] == "buy" and info["numberOfAnalystOpinions"] == 40


def test_an_etf_dividend_yield_from_v7_is_a_fraction(
    answers: dict[str, dict[str, object]],
) -> None:
    info = answers["yahooquery"]["QQQ"]
    assert isinstance(info, dict)
    assert info["quoteType"] == "ETF"
    assert info["dividendYield"] == pytest.approx(recorded_quote("QQQ")["dividendYield"] / 100)


@pytest.mark.parametrize("symbol", ["EURUSD=X", "BTC-USD"])
def test_non_equities_carry_a_price_and_no_equity_fields(
    answers: dict[str, dict[str, object]], symbol: str
) -> None:
    info = answers["yfinance"][symbol]
    assert isinstance(info, dict)
    assert info["regularMarketPrice"] == recorded_quote(symbol)["regularMarketPrice"]
    assert info["sector"] is None and info["targetMeanPrice"] is None


@pytest.mark.parametrize("symbol", QUOTE_SUMMARY_ONLY)
def test_without_a_v7_quote_both_still_answer_from_quote_summary(
    answers: dict[str, dict[str, object]], symbol: str
) -> None:
    recorded = recorded_quote_summary(symbol)
    for adapter in ("yfinance", "yahooquery"):
        info = answers[adapter][symbol]
        assert isinstance(info, dict), f"{adapter}: {info!r}"
        assert isinstance(check_info(symbol, info, provider=adapter), dict)
        assert info["sector"] == recorded["assetProfile"].get("sector")
        assert info["trailingPE"] == recorded["summaryDetail"].get("trailingPE")
        assert info["dividendYield"] == recorded["summaryDetail"].get("dividendYield")


@pytest.mark.parametrize("symbol", RECORDED_PAIRS)
def test_merging_the_recorded_modules_matches_what_yfinance_built(
    answers: dict[str, dict[str, object]], symbol: str
) -> None:
    quote = recorded_quote(symbol)
    merged = merge_modules(recorded_quote_summary(symbol), quote, symbol=symbol)
    ours = canonical_units(merged, quote_keys=frozenset(quote))
    via_yf = answers["yfinance"][symbol]
    assert isinstance(via_yf, dict)
    assert {k: ours[k] for k in CORE_FIELDS} == {k: via_yf[k] for k in CORE_FIELDS}
