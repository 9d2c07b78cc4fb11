"""How the adapters use their libraries: lazily, reused, batched, isolated from global state."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from yfinance.data import YfData

from resilient_provider.errors import DataContractError, SymbolNotFoundError
from resilient_provider.providers.routing import YahooRoutingSession
from resilient_provider.providers.yahooquery import YahooQueryProvider
from resilient_provider.providers.yfinance import YFinanceProvider
from resilient_provider.testing import FakeYahooServer, Fault

from .conftest import Adapter

MakeAdapter = Callable[..., Adapter]


def test_building_an_adapter_sends_no_request(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    make_adapter(adapter_name)
    assert yahoo.count() == 0


def test_the_crumb_is_fetched_once_and_reused(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    adapter = make_adapter(adapter_name)
    for symbol in ("AAPL", "MSFT", "QQQ"):
        assert isinstance(adapter.fetch_info([symbol])[symbol], dict)
    assert yahoo.count(route="crumb") == 1


def test_a_given_session_is_the_one_used(adapter_name: str, yahoo: FakeYahooServer) -> None:
    session = yahoo.session(timeout_s=2)
    adapter: Adapter = (YFinanceProvider if adapter_name == "yfinance"
                        else YahooQueryProvider)(session=session)
    try:
        assert isinstance(adapter.fetch_info(["AAPL"])["AAPL"], dict)
    finally:
        adapter.close()
    assert yahoo.count(route="quoteSummary", symbol="AAPL") == 1
    session.get(f"{yahoo.base_url}/v1/test/getcrumb")  # the adapter did not close our session


def test_bad_options_name_the_bad_value(adapter_name: str, make_adapter: MakeAdapter) -> None:
    with pytest.raises(ValueError, match="-1"):
        make_adapter(adapter_name, timeout_s=-1)
    with pytest.raises(ValueError, match="0"):
        make_adapter(adapter_name, max_workers=0)
    with pytest.raises(ValueError, match="ftp://x"):
        YahooRoutingSession("ftp://x")


def test_symbols_are_validated_before_any_request(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    with pytest.raises(ValueError, match=r"AAPL/\.\./x"):
        make_adapter(adapter_name).fetch_info(["AAPL/../x"])
    assert yahoo.count() == 0


def test_yfinance_leaves_the_process_wide_session_alone(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    before = YfData()._session  # yfinance's singleton, as user code would see it
    assert isinstance(make_adapter("yfinance").fetch_info(["AAPL"])["AAPL"], dict)
    assert YfData()._session is before
    assert not isinstance(before, YahooRoutingSession)


def test_yfinance_recovers_from_an_expired_crumb_by_itself(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    adapter = make_adapter("yfinance")
    assert isinstance(adapter.fetch_info(["AAPL"])["AAPL"], dict)
    yahoo.expire_crumbs()
    assert isinstance(adapter.fetch_info(["AAPL"])["AAPL"], dict)
    assert yahoo.count(route="crumb") == 2


def test_yahooquery_drops_a_refused_crumb_and_gets_a_new_one(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    adapter = make_adapter("yahooquery")
    assert isinstance(adapter.fetch_info(["AAPL"])["AAPL"], dict)
    yahoo.expire_crumbs()
    assert adapter.fetch_info(["AAPL"])["AAPL"].code == "auth_failed"  # type: ignore[union-attr]
    assert isinstance(adapter.fetch_info(["AAPL"])["AAPL"], dict)
    assert yahoo.count(route="crumb") == 2


def test_yahooquery_batches_the_v7_quote(make_adapter: MakeAdapter, yahoo: FakeYahooServer) -> None:
    symbols = ["AAPL", "MSFT", "QQQ", "EURUSD=X", "^GSPC"]
    answers = make_adapter("yahooquery").fetch_info(symbols)
    assert all(isinstance(answers[s], dict) for s in symbols)
    assert yahoo.count(route="quote") == 1
    assert yahoo.count(route="quoteSummary") == len(symbols)


def test_yahooquery_chunks_run_on_a_bounded_pool(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    symbols = [f"T{i}" for i in range(7)]
    answers = make_adapter("yahooquery", chunk_size=3, max_workers=2).fetch_info(symbols)
    assert list(answers) == symbols and all(isinstance(a, dict) for a in answers.values())
    assert yahoo.count(route="quote") == 3  # one batched request per chunk
    assert yahoo.count(route="crumb") <= 2  # one pooled Ticker per worker at most


def test_yahooquery_recovers_symbols_lost_to_one_non_json_answer(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    # yahooquery turns the whole multi-symbol result into {'error': ...} when one body is not
    # JSON; the adapter asks the healthy symbols again.
    yahoo.inject(Fault.rate_limited(), route="quoteSummary", symbols=["MSFT"])
    answers = make_adapter("yahooquery").fetch_info(["AAPL", "MSFT", "QQQ"])
    assert isinstance(answers["AAPL"], dict) and isinstance(answers["QQQ"], dict)
    assert answers["MSFT"].code == "rate_limited"  # type: ignore[union-attr]


def test_yahooquery_message_strings_are_classified(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    # A 200 whose envelope carries an error description: yahooquery hands back the string.
    body = {"finance": {"result": None, "error": {"code": "Bad Request",
                                                  "description": "Invalid input"}}}
    yahoo.inject(Fault.status_code(200, body), route="quoteSummary", symbols=["AAPL"])
    not_found = {"quoteSummary": {"result": None, "error": {
        "code": "Not Found", "description": "Quote not found for ticker symbol: QQQ,"}}}
    yahoo.inject(Fault.status_code(200, not_found), route="quoteSummary", symbols=["QQQ"])
    answers = make_adapter("yahooquery").fetch_info(["AAPL", "QQQ"])
    assert isinstance(answers["AAPL"], DataContractError)
    assert "Invalid input" in answers["AAPL"].message
    assert isinstance(answers["QQQ"], SymbolNotFoundError)


def test_dates_stay_epoch_seconds_whichever_library(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    via_yf = make_adapter("yfinance").fetch_info(["AAPL"])["AAPL"]
    via_yq = make_adapter("yahooquery").fetch_info(["AAPL"])["AAPL"]
    assert isinstance(via_yf, dict) and isinstance(via_yq, dict)
    assert isinstance(via_yq["exDividendDate"], int)
    assert via_yq["exDividendDate"] == via_yf["exDividendDate"]


def test_yfinances_own_error_lines_become_our_debug_lines(
    make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = make_adapter("yfinance").fetch_info(["NOSUCH"])["NOSUCH"]
    assert isinstance(answer, SymbolNotFoundError)
    assert not [r for r in caplog.records if r.name == "yfinance" and r.levelno >= logging.ERROR]
    ours = [r for r in caplog.records if r.name == "resilient_provider.providers.yfinance"]
    assert any("HTTP Error 404" in r.getMessage() for r in ours)
    logging.getLogger("yfinance").error("outside our calls")  # other yfinance use is untouched
    assert caplog.records[-1].name == "yfinance"
