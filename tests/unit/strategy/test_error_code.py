"""`_error_code` names the cause that explains a total failure across all providers.

``symbol_not_found`` only when every provider the walk reached said so; a provider that lacks
the symbol after others failed (or were skipped) does not make it unknown.
"""

from __future__ import annotations

from resilient_provider import DataSource
from resilient_provider.errors import (
    NetworkError,
    ProviderTimeoutError,
    ServerError,
    SymbolNotFoundError,
)
from resilient_provider.testing import FakeClock, ScriptedProvider, make_info
from tests.conftest import MakeFacade

REFUSED = NetworkError("connection refused")
LACKS_MSFT = SymbolNotFoundError("no such symbol here")
ONE_ATTEMPT = {"retry": {"max_attempts": 1}}


def test_yahoo_unreachable_and_a_third_provider_lacking_msft_is_not_symbol_not_found(
        make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("yfinance", default=REFUSED),
                         ScriptedProvider("yahooquery", default=ProviderTimeoutError("no answer")),
                         ScriptedProvider("third", {"MSFT": LACKS_MSFT}),
                         provider_defaults=ONE_ATTEMPT)
    info = facade.get_ticker_info("MSFT")
    assert info["_data_source"] == "error"
    assert info["_error_code"] == "timeout"  # the last provider really called that failed
    assert "third: no such symbol here" in info["error"]  # the trace still says what it said


def test_every_provider_asked_saying_not_found_is_symbol_not_found(make_facade: MakeFacade) -> None:
    first = ScriptedProvider("one", {"NOPE": LACKS_MSFT})
    second = ScriptedProvider("two")
    info = make_facade(first, second).get_ticker_info("NOPE")
    assert info["_error_code"] == "symbol_not_found"
    assert second.calls == []  # not found by the first is final: the only one that could say


def test_a_failing_primary_then_a_not_found_reports_the_primary_failure(
        make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one", default=ServerError("HTTP 503", status=503)),
                         ScriptedProvider("two", {"NOPE": LACKS_MSFT}),
                         provider_defaults=ONE_ATTEMPT)
    result = facade.fetch("NOPE")
    assert result.source is DataSource.ERROR
    assert result.error is not None and result.error.code == "server_error"
    assert not isinstance(result.error, SymbolNotFoundError)


def test_a_skipped_provider_then_a_not_found_reports_the_skip(make_facade: MakeFacade,
                                                              clock: FakeClock) -> None:
    down = ScriptedProvider("one", default=REFUSED)
    third = ScriptedProvider("third", {"MSFT": LACKS_MSFT})
    facade = make_facade(down, third, provider_defaults=ONE_ATTEMPT)
    for symbol in ("AAPL", "NVDA", "AMZN"):  # three failures open one's breaker
        facade.fetch(symbol)
    result = facade.fetch("MSFT")
    assert [(a.step, a.outcome, a.error_code) for a in result.attempts[:2]] == [
        ("one", "skipped", "circuit_open"), ("third", "error", "symbol_not_found")]
    assert result.error is not None and result.error.code == "circuit_open"


def test_a_not_found_after_a_failure_is_not_remembered_by_the_negative_cache(
        make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one", {"MSFT": [REFUSED, make_info("MSFT")]})
    facade = make_facade(primary, ScriptedProvider("third", {"MSFT": LACKS_MSFT}),
                         provider_defaults=ONE_ATTEMPT)
    first = facade.fetch("MSFT")
    assert first.error is not None and first.error.code == "network_error"
    again = facade.fetch("MSFT")  # not answered as a known unknown: the primary is asked
    assert again.source is DataSource.PRIMARY
    assert primary.calls == [["MSFT"], ["MSFT"]]
