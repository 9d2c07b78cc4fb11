"""Yahoo's statuses, envelopes and transport exceptions, translated into the taxonomy."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from curl_cffi.requests import exceptions as curl_exc

from resilient_provider.errors import (
    AuthenticationError,
    DataContractError,
    NetworkError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    SymbolNotFoundError,
)
from resilient_provider.providers.yahoo_http import (
    Exchange,
    Transcript,
    error_from_exception,
    error_from_exchange,
    exchange_from_response,
    first_failure,
    parse_retry_after,
    route_of,
)

QS = "https://query2.finance.yahoo.com/v10/finance/quoteSummary/AAPL?modules=price&crumb=s3cr3t"
V7 = "https://query1.finance.yahoo.com/v7/finance/quote?symbols=AAPL%2CBABA&crumb=s3cr3t"


@dataclass
class Response:
    """The three attributes of a curl_cffi/requests response the recorder reads."""

    url: str
    status_code: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def test_routes_and_symbols_are_read_from_the_url() -> None:
    assert route_of(QS) == ("quoteSummary", ("AAPL",))
    assert route_of(V7) == ("quote", ("AAPL", "BABA"))
    assert route_of("https://query2.finance.yahoo.com/v10/finance/quoteSummary/EURUSD%3DX") == (
        "quoteSummary", ("EURUSD=X",))
    assert route_of("https://query1.finance.yahoo.com/ws/fundamentals-timeseries/v1/finance/"
                    "timeseries/MSFT?type=trailingPegRatio") == ("timeseries", ("MSFT",))
    assert route_of("https://query1.finance.yahoo.com/v1/test/getcrumb") == ("crumb", ())
    assert route_of("https://fc.yahoo.com/") == ("other", ())


@pytest.mark.parametrize(("header", "seconds"), [
    ("2", 2.0), (" 120 ", 120.0), ("-5", 0.0), ("soon", None), (None, None), ("", None),
    ("inf", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_retry_after_accepts_seconds_and_dates(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0


def test_a_429_text_body_is_recorded_with_its_retry_after() -> None:
    exchange = exchange_from_response(Response(QS, 429, "Too Many Requests\r\n",
                                               {"Retry-After": "7"}))
    assert (exchange.route, exchange.status, exchange.retry_after_s) == ("quoteSummary", 429, 7.0)
    error = error_from_exchange(exchange, symbol="AAPL", provider="yf")
    assert isinstance(error, RateLimitError) and error.retry_after == 7.0


def test_the_invalid_crumb_envelope_is_an_authentication_failure() -> None:
    body = {"finance": {"result": None, "error": {"code": "Unauthorized",
                                                  "description": "Invalid Crumb"}}}
    exchange = exchange_from_response(Response(QS, 401, json.dumps(body)))
    error = error_from_exchange(exchange, symbol="AAPL", provider="yf")
    assert isinstance(error, AuthenticationError)
    assert "Invalid Crumb" in error.message


def test_a_5xx_is_a_server_error_with_its_status() -> None:
    exchange = exchange_from_response(Response(QS, 503, "<html>unavailable</html>"))
    error = error_from_exchange(exchange, symbol="AAPL", provider="yf")
    assert isinstance(error, ServerError) and error.status == 503


def test_quote_not_found_is_symbol_not_found_but_a_missing_module_is_not_an_error() -> None:
    unknown = {"quoteSummary": {"result": None, "error": {
        "code": "Not Found", "description": "Quote not found for symbol: NOSUCH"}}}
    missing_module = {"quoteSummary": {"result": None, "error": {
        "code": "Not Found",
        "description": "No fundamentals data found for any of the summaryTypes=assetProfile"}}}
    error = error_from_exchange(exchange_from_response(Response(QS, 404, json.dumps(unknown))),
                                symbol="NOSUCH", provider="yf")
    assert isinstance(error, SymbolNotFoundError)
    assert not error.counts_against_provider
    assert error_from_exchange(
        exchange_from_response(Response(QS, 404, json.dumps(missing_module))),
        symbol="EURUSD=X", provider="yf") is None


def test_a_200_that_is_not_json_breaks_the_data_contract() -> None:
    exchange = exchange_from_response(Response(QS, 200, '{"quoteSummary": {"result": [{"pri'))
    assert isinstance(error_from_exchange(exchange, symbol="AAPL", provider="yf"),
                      DataContractError)


def test_the_recorder_keeps_no_crumb_or_url() -> None:
    exchange = exchange_from_response(Response(QS, 200, '{"quoteSummary": {"result": []}}'))
    assert "s3cr3t" not in repr(exchange)


def test_v7_entries_are_remembered_by_their_keys() -> None:
    body = {"quoteResponse": {"result": [{"symbol": "AAPL", "dividendYield": 0.41}],
                              "error": None}}
    transcript = Transcript()
    transcript.add(exchange_from_response(Response(V7, 200, json.dumps(body))))
    assert transcript.quote_keys("AAPL") == {"symbol", "dividendYield"}
    assert transcript.quote_keys("BABA") == frozenset()


def test_a_library_retry_supersedes_the_answer_it_retried() -> None:
    transcript = Transcript()
    transcript.add(Exchange("quoteSummary", ("AAPL",), 401, description="Invalid Crumb"))
    transcript.add(Exchange("quoteSummary", ("AAPL",), 200))
    assert first_failure(transcript.final("AAPL"), symbol="AAPL", provider="yf") is None


def test_a_health_failure_outranks_not_found() -> None:
    exchanges = [Exchange("quoteSummary", ("X",), 404, description="Quote not found for symbol: X"),
                 Exchange("quote", ("X",), 503)]
    assert isinstance(first_failure(exchanges, symbol="X", provider="yf"), ServerError)


@pytest.mark.parametrize(("exc", "expected"), [
    (curl_exc.Timeout("Operation timed out"), ProviderTimeoutError),
    (curl_exc.ConnectTimeout("connect timed out"), ProviderTimeoutError),
    (curl_exc.ConnectionError("Connection refused"), NetworkError),
    (curl_exc.DNSError("Could not resolve host: query2.finance.yahoo.com"), NetworkError),
    (curl_exc.RequestException("Recv failure: Connection reset by peer"), NetworkError),
    (json.JSONDecodeError("Expecting value", "", 0), DataContractError),
    (TimeoutError(), ProviderTimeoutError),
    (ConnectionResetError(), NetworkError),
])
def test_transport_exceptions_map_onto_the_taxonomy(exc: Exception, expected: type) -> None:
    error = error_from_exception(exc, symbol="AAPL", provider="yf")
    assert type(error) is expected
    assert error.__cause__ is exc
    assert error.symbol == "AAPL" and error.provider == "yf"


def test_an_unknown_exception_is_a_generic_provider_failure() -> None:
    error = error_from_exception(KeyError("quoteSummary"), symbol="AAPL", provider="yf")
    assert error.code == "provider_unavailable" and "KeyError" in error.message
