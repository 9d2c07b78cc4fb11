"""Every way Yahoo fails, through the real yfinance and yahooquery code, mapped onto the taxonomy.

Each test runs once per adapter against the loopback fake Yahoo; nothing but a canonical dict or
a ResilientProviderError may come back.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from resilient_provider.errors import (
    AuthenticationError,
    DataContractError,
    NetworkError,
    ProviderTimeoutError,
    RateLimitError,
    ResilientProviderError,
    ServerError,
    SymbolNotFoundError,
)
from resilient_provider.strategy.contract import check_info
from resilient_provider.testing import FakeYahooServer, Fault

from .conftest import Adapter

DATA = ("quoteSummary", "quote")

MakeAdapter = Callable[..., Adapter]


def fetch_one(adapter: Adapter, symbol: str = "AAPL") -> object:
    answer = adapter.fetch_info([symbol])
    assert set(answer) == {symbol}
    value = answer[symbol]
    assert isinstance(value, dict | ResilientProviderError), f"leaked {type(value).__name__}"
    return value


def test_a_healthy_answer_is_the_canonical_dict(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.bodies.set_price("AAPL", 187.25)  # type: ignore[attr-defined]
    info = fetch_one(make_adapter(adapter_name))
    assert isinstance(info, dict)
    assert info["symbol"] == "AAPL" and info["regularMarketPrice"] == 187.25
    assert info["quoteType"] == "EQUITY" and isinstance(info["sector"], str)
    assert 0 <= info["dividendYield"] < 0.1, "a fraction, not v7's percent"


def test_an_unknown_symbol_is_symbol_not_found(
    adapter_name: str, make_adapter: MakeAdapter
) -> None:
    error = fetch_one(make_adapter(adapter_name), "NOSUCH")
    assert isinstance(error, SymbolNotFoundError)
    assert "NOSUCH" in error.message and error.provider == adapter_name
    assert not error.counts_against_provider


@pytest.mark.parametrize("retry_after", [7, None])
def test_http_429_is_rate_limited_with_retry_after(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer,
    retry_after: int | None,
) -> None:
    yahoo.inject(Fault.rate_limited(retry_after_s=retry_after), route=DATA)
    error = fetch_one(make_adapter(adapter_name))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == retry_after


def test_invalid_crumb_is_an_authentication_failure(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.inject(Fault.invalid_crumb(), route=DATA)
    error = fetch_one(make_adapter(adapter_name))
    assert isinstance(error, AuthenticationError) and "Invalid Crumb" in error.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_a_server_error(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer, status: int
) -> None:
    yahoo.inject(Fault.server_error(status), route=DATA)
    error = fetch_one(make_adapter(adapter_name))
    assert isinstance(error, ServerError) and error.status == status


def test_malformed_json_breaks_the_data_contract(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.inject(Fault.malformed_json(), route="quoteSummary")
    error = fetch_one(make_adapter(adapter_name))
    assert isinstance(error, DataContractError) and "malformed JSON" in error.message


def test_an_empty_result_breaks_the_data_contract(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.inject(Fault.empty_result(), route=DATA)
    error = fetch_one(make_adapter(adapter_name))
    assert isinstance(error, DataContractError)


def test_a_partial_result_without_a_price_fails_the_contract(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    # An ETF has no financialData (no currentPrice); with v7 empty and yahooquery's price module
    # cut away, the answer has names but no price.
    yahoo.inject(Fault.empty_result(), route="quote")
    yahoo.inject(Fault.status_code(200, {"quoteSummary": {"result": [
        {"quoteType": {"symbol": "QQQ", "quoteType": "ETF", "shortName": "Invesco QQQ"}}],
        "error": None}}), route="quoteSummary")
    answer = fetch_one(make_adapter(adapter_name), "QQQ")
    assert isinstance(answer, dict) and answer["shortName"] == "Invesco QQQ"
    checked = check_info("QQQ", answer, provider=adapter_name)
    assert isinstance(checked, DataContractError) and "no finite positive price" in checked.message


def test_a_connection_reset_is_a_network_error(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.inject(Fault.connection_reset(), route="quoteSummary")
    assert isinstance(fetch_one(make_adapter(adapter_name)), NetworkError)


def test_a_hang_past_the_timeout_is_a_timeout(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.inject(Fault.hang(), route="quoteSummary")
    error = fetch_one(make_adapter(adapter_name, timeout_s=0.2))
    assert isinstance(error, ProviderTimeoutError)


def test_a_slow_answer_within_the_timeout_is_fine(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.inject(Fault.slow(0.05), route="quoteSummary")
    assert isinstance(fetch_one(make_adapter(adapter_name, timeout_s=1.0)), dict)


def test_a_refused_connection_is_a_network_error(
    adapter_name: str, make_adapter: MakeAdapter
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = fetch_one(make_adapter(adapter_name, base_url=f"http://127.0.0.1:{port}"))
    assert isinstance(error, NetworkError)


def test_one_failing_symbol_leaves_the_others_answered(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.inject(Fault.server_error(503), route="quoteSummary", symbols=["MSFT"])
    answers = make_adapter(adapter_name).fetch_info(["AAPL", "MSFT", "NOSUCH", "QQQ"])
    assert isinstance(answers["AAPL"], dict) and isinstance(answers["QQQ"], dict)
    assert isinstance(answers["MSFT"], ServerError)
    assert isinstance(answers["NOSUCH"], SymbolNotFoundError)
