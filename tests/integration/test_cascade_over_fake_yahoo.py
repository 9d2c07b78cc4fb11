"""Each step of the cascade happening for real: yfinance and yahooquery against fake Yahoos."""

from __future__ import annotations

import pytest

from resilient_provider import DataSource, ResilientProvider
from resilient_provider.cache import MemoryCache
from resilient_provider.errors import SymbolNotFoundError
from resilient_provider.testing import Fault, ScriptedProvider
from tests.conftest import fast_settings

from .conftest import Rig

DATA = ("quoteSummary", "quote")
DAY = 86400.0


def test_yfinance_serves_as_primary(rig: Rig) -> None:
    rig.yahoo_yf.bodies.set_price("AAPL", 190.5)  # type: ignore[attr-defined]
    info = rig.make().get_ticker_info("AAPL")
    assert (info["_data_source"], info["_provider"]) == ("primary", "yfinance")
    assert info["regularMarketPrice"] == 190.5 and info["quoteType"] == "EQUITY"
    assert isinstance(info["sector"], str) and 0 <= info["dividendYield"] < 0.1
    assert rig.yahoo_yf.count(route="quoteSummary", symbol="AAPL") == 1
    assert rig.yahoo_yf.count(route="quote", symbol="AAPL") == 1
    assert rig.yahoo_yq.count() == 0


def test_rate_limited_yfinance_falls_back_to_yahooquery(rig: Rig) -> None:
    rig.yahoo_yf.inject(Fault.rate_limited(retry_after_s=3600), route=DATA)
    rig.yahoo_yq.bodies.set_price("AAPL", 77.0)  # type: ignore[attr-defined]
    facade = rig.make()
    result = facade.fetch("AAPL")
    assert (result.source, result.provider) == (DataSource.FALLBACK, "yahooquery")
    assert result.data is not None and result.data["regularMarketPrice"] == 77.0
    first = result.attempts[0]
    assert (first.step, first.outcome, first.error_code) == ("yfinance", "error", "rate_limited")
    # Retry-After (1 h) is above max_retry_after_s (30 s): no retry, the breaker holds off.
    assert first.retries == 0 and rig.clock.sleeps == []
    assert rig.yahoo_yf.count(route="quoteSummary", status=429) == 2  # yfinance's own 2nd try
    assert rig.stats(facade, "yfinance")["breaker"]["state"] == "open"


def test_a_short_retry_after_is_waited_out_then_retried(rig: Rig) -> None:
    # yfinance retries a 429 once itself; two 429s make it raise, our retry then succeeds.
    rig.yahoo_yf.inject(Fault.rate_limited(retry_after_s=2), route="quoteSummary", times=2)
    result = rig.make().fetch("AAPL")
    assert (result.source, result.provider) == (DataSource.PRIMARY, "yfinance")
    assert result.attempts[0].retries == 1
    assert rig.clock.sleeps == [2.0]
    assert rig.yahoo_yq.count() == 0


def test_both_down_serves_the_cache_fresh_then_stale_then_nothing(rig: Rig) -> None:
    facade = rig.make()
    live = facade.get_ticker_info("MSFT")
    assert live["_data_source"] == "primary"
    rig.yahoo_yf.inject(Fault.server_error(503), route=DATA)
    rig.yahoo_yq.inject(Fault.server_error(503), route=DATA)

    fresh = facade.get_ticker_info("MSFT")
    assert fresh["_data_source"] == "cache_fresh" and fresh["_is_stale"] is False
    assert fresh["regularMarketPrice"] == live["regularMarketPrice"]
    assert fresh["_provider"] == "yfinance"  # who fetched the cached entry

    rig.clock.advance(3 * DAY)
    stale = facade.get_ticker_info("MSFT")
    assert stale["_data_source"] == "cache_stale" and stale["_is_stale"] is True
    assert stale["_age_s"] == pytest.approx(3 * DAY, abs=60)

    rig.clock.advance(5 * DAY)  # 8 days: past max_stale_age (7 d)
    gone = facade.get_ticker_info("MSFT")
    assert gone["_data_source"] == "error" and "too old" in gone["error"]


def test_an_open_breaker_skips_yfinance_without_a_request(rig: Rig) -> None:
    facade = rig.make()
    rig.yahoo_yf.inject(Fault.server_error(503), route=DATA)
    for symbol in ("AAPL", "MSFT"):  # AAPL's 3 failed attempts open the breaker (threshold 3)
        assert facade.get_ticker_info(symbol)["_data_source"] == "fallback"
    assert rig.stats(facade, "yfinance")["breaker"]["state"] == "open"

    rig.yahoo_yf.reset_log()
    result = facade.fetch("NVDA")
    assert (result.source, result.provider) == (DataSource.FALLBACK, "yahooquery")
    assert (result.attempts[0].outcome, result.attempts[0].error_code) == ("skipped",
                                                                           "circuit_open")
    assert rig.yahoo_yf.count() == 0, "not even the cookie/crumb handshake reached yfinance's Yahoo"

    rig.yahoo_yf.clear_faults()
    rig.clock.advance(30)  # reset_timeout_s: one half-open trial goes through, and succeeds
    assert facade.get_ticker_info("NVDA")["_data_source"] == "primary"
    assert rig.yahoo_yf.count(route="quoteSummary", symbol="NVDA") == 1


def test_an_unknown_symbol_is_a_clear_error_that_does_not_count_against_yfinance(
    rig: Rig,
) -> None:
    facade = rig.make()
    info = facade.get_ticker_info("NOSUCH")
    assert (info["_data_source"], info["_error_code"]) == ("error", "symbol_not_found")
    assert "NOSUCH" in info["error"]
    stats = rig.stats(facade, "yfinance")
    assert stats["breaker"]["failure_count"] == 0 and stats["retries"] == 0
    assert stats["failures"] == {} and stats["not_found"] == 1  # no failure, not the breaker's
    # yfinance asked once (plus its own one retry of the 404), not once per retry attempt.
    assert rig.yahoo_yf.count(route="quoteSummary", symbol="NOSUCH") == 2
    assert rig.yahoo_yq.count() == 0, "not found is final: no fall-over"


@pytest.mark.parametrize(("fault", "route", "code"), [
    (Fault.server_error(502), DATA, "server_error"),
    (Fault.invalid_crumb(), DATA, "auth_failed"),
    (Fault.malformed_json(), "quoteSummary", "data_contract"),
    (Fault.empty_result(), DATA, "data_contract"),
    (Fault.connection_reset(), "quoteSummary", "network_error"),
    (Fault.hang(), "quoteSummary", "timeout"),
])
def test_each_yfinance_failure_falls_over_to_yahooquery(
    rig: Rig, fault: Fault, route: object, code: str
) -> None:
    rig.yahoo_yf.inject(fault, route=route)  # type: ignore[arg-type]
    facade = rig.make(provider_defaults={"timeout_s": 2, "retry": {"max_attempts": 1}})
    result = facade.fetch("AAPL")
    assert (result.source, result.provider) == (DataSource.FALLBACK, "yahooquery")
    assert result.attempts[0].error_code == code
    assert rig.stats(facade, "yfinance")["failures"] == {code: 1}


def test_an_expired_crumb_is_renewed_by_yfinance_itself(rig: Rig) -> None:
    facade = rig.make()
    assert facade.get_ticker_info("AAPL")["_data_source"] == "primary"
    rig.yahoo_yf.expire_crumbs()
    assert facade.get_ticker_info("MSFT")["_data_source"] == "primary"
    assert rig.yahoo_yf.count(route="crumb") == 2


def test_a_slow_answer_within_the_timeout_stays_primary(rig: Rig) -> None:
    rig.yahoo_yf.inject(Fault.slow(0.05), route="quoteSummary")
    assert rig.make().get_ticker_info("AAPL")["_data_source"] == "primary"


def test_stats_add_up_with_what_the_servers_saw(rig: Rig) -> None:
    facade = rig.make()
    for symbol in ("AAPL", "MSFT"):
        facade.get_ticker_info(symbol)  # primary
    rig.yahoo_yf.inject(Fault.server_error(500), route=DATA)
    facade.get_ticker_info("QQQ")  # fallback after 3 yfinance attempts
    facade.get_ticker_info("NOSUCH")  # yfinance is now open: yahooquery says not found
    stats = facade.get_reliability_stats()
    assert stats["total_requests"] == 4
    assert {k: n for k, n in stats["counts"].items() if n} == {"primary": 2, "fallback": 1,
                                                                "error": 1}
    yf = stats["providers"]["yfinance"]
    assert (yf["successes"], yf["failures"], yf["retries"]) == (2, {"server_error": 3}, 2)
    assert rig.yahoo_yf.count(route="quoteSummary", symbol="QQQ", status=500) == 6  # 3 attempts, each retried once by yfinance
    assert rig.yahoo_yq.count(route="quoteSummary", symbol="QQQ") == 1


def test_yahoo_unreachable_and_a_third_provider_without_msft_is_not_symbol_not_found(
        rig: Rig) -> None:
    """Both libraries refused by Yahoo, a third source that lacks MSFT: the answer names the
    upstream failure, so a user dropping not-found ("delisted") rows keeps MSFT."""
    rig.yahoo_yf.inject(Fault.connection_reset(), route="any")
    rig.yahoo_yq.inject(Fault.connection_reset(), route="any")
    third = ScriptedProvider("third", {"MSFT": SymbolNotFoundError("MSFT: not covered")})
    with ResilientProvider([rig.yf, rig.yq, third], cache=MemoryCache(clock=rig.clock),
                           settings=fast_settings(provider_defaults={
                               "timeout_s": 2, "retry": {"max_attempts": 1}}),
                           clock=rig.clock) as facade:
        info = facade.get_ticker_info("MSFT")
        stats = facade.reliability_report()
    assert info["_data_source"] == "error"
    assert info["_error_code"] == "network_error"
    assert "third: MSFT: not covered" in info["error"]
    assert stats.sources.not_found == 0 and stats.sources.error == 1
    assert stats.providers["third"].not_found == 1 and not stats.providers["third"].failures
