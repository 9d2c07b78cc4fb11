"""The cascade, step by step: primary → fallback → fresh cache → stale cache → tagged error."""

from __future__ import annotations

from datetime import datetime

import pytest

from resilient_provider import DataSource
from resilient_provider.cache import MemoryCache
from resilient_provider.errors import ProviderTimeoutError, ProviderUnavailableError
from resilient_provider.testing import FakeClock, ScriptedProvider, make_info

from ..conftest import MakeFacade

DOWN = ProviderUnavailableError("connection refused")
HOUR = 3600.0
DAY = 86400.0


def test_primary_serves_and_the_answer_is_tagged(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one")
    info = make_facade(primary, ScriptedProvider("two")).get_ticker_info(" aapl ")
    assert info["symbol"] == "AAPL"
    assert info["regularMarketPrice"] == make_info("AAPL")["regularMarketPrice"]
    assert info["_data_source"] == "primary" and info["_provider"] == "one"
    assert info["_is_stale"] is False and info["_age_s"] == 0.0
    assert datetime.fromisoformat(info["_fetched_at"]).timestamp() == pytest.approx(clock())
    assert info["_fetched_at"].endswith("+00:00")
    assert info["_latency_ms"] >= 0
    assert primary.calls == [["AAPL"]]


def test_fetch_result_carries_the_full_trace(make_facade: MakeFacade) -> None:
    result = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two")).fetch("MSFT")
    assert result.success and result.source is DataSource.FALLBACK and result.provider == "two"
    assert [(a.step, a.outcome) for a in result.attempts] == [("one", "error"), ("two", "success")]
    assert result.attempts[0].error_code == "provider_unavailable"
    assert result.ticker == "MSFT" and result.error is None and result.age_s == 0.0


def test_every_provider_after_the_first_reports_fallback(make_facade: MakeFacade) -> None:
    chain = [ScriptedProvider("a", default=DOWN), ScriptedProvider("b", default=DOWN), ScriptedProvider("c")]
    result = make_facade(*chain).fetch("AAPL")
    assert (result.source, result.provider) == (DataSource.FALLBACK, "c")


def test_live_success_is_written_to_the_cache(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    make_facade(ScriptedProvider("one"), cache=cache).fetch("AAPL")
    entry = cache.get("AAPL")
    assert entry is not None and entry.provider == "one" and entry.fetched_at == clock()
    assert entry.data["regularMarketPrice"] == make_info("AAPL")["regularMarketPrice"]


def _warm(make_facade: MakeFacade, clock: FakeClock, cache: MemoryCache, symbol: str = "AAPL") -> None:
    cache.set(symbol, make_info(symbol), fetched_at=clock(), provider="one")


def test_fresh_cache_serves_when_all_providers_fail(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    _warm(make_facade, clock, cache)
    clock.advance(47 * HOUR)
    info = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two", default=DOWN),
                       cache=cache).get_ticker_info("AAPL")
    assert info["_data_source"] == "cache_fresh" and info["_is_stale"] is False
    assert info["_provider"] == "one" and info["_age_s"] == 47 * HOUR + sum(clock.sleeps)


def test_stale_cache_serves_after_fresh_for_and_says_so(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    _warm(make_facade, clock, cache)
    clock.advance(48 * HOUR)
    result = make_facade(ScriptedProvider("one", default=DOWN), cache=cache).fetch("AAPL")
    assert result.source is DataSource.CACHE_STALE and result.is_stale
    assert result.to_tagged_dict()["_is_stale"] is True


def test_entry_older_than_max_stale_age_is_never_served(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)  # no ttl: the entry is still there, the cascade refuses it
    _warm(make_facade, clock, cache)
    clock.advance(7 * DAY)
    result = make_facade(ScriptedProvider("one", default=DOWN), cache=cache).fetch("AAPL")
    assert result.source is DataSource.ERROR
    assert result.error is not None
    assert "cache: entry too old (7.0d, max_stale_age 7.0d)" in result.error.message


def test_total_failure_is_a_tagged_error_dict(make_facade: MakeFacade) -> None:
    info = make_facade(ScriptedProvider("one", default=DOWN)).get_ticker_info("aapl")
    assert set(info) == {"symbol", "ticker", "error", "_error_code", "_data_source", "_latency_ms"}
    assert info["symbol"] == "AAPL" and info["ticker"] == "aapl"
    assert info["_data_source"] == "error" and info["_error_code"] == "provider_unavailable"


def test_error_message_says_what_each_step_did(make_facade: MakeFacade, clock: FakeClock) -> None:
    one = ScriptedProvider("yfinance", default=DOWN)
    two = ScriptedProvider("yahooquery", default=ProviderTimeoutError("timeout after 10.0s"))
    facade = make_facade(one, two, provider_defaults={"retry": {"max_attempts": 1}},
                         providers=[{"name": "yahooquery", "breaker": {"failure_threshold": 10}}])
    for _ in range(3):
        facade.fetch("AAPL")  # opens yfinance's breaker (threshold 3)
    clock.advance(4.7)
    info = facade.get_ticker_info("AAPL")
    assert info["error"] == ("yfinance: circuit open, 25.3s until retry; "
                             "yahooquery: timeout after 10.0s; cache: no entry")
    assert info["_error_code"] == "timeout"


def test_read_through_serves_fresh_cache_before_any_provider(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    _warm(make_facade, clock, cache)
    primary = ScriptedProvider("one")
    result = make_facade(primary, cache=cache, cache_settings={"backend": "memory", "read_through": True}).fetch("AAPL")
    assert result.source is DataSource.CACHE_FRESH
    assert primary.call_count == 0


def test_read_through_still_calls_providers_for_stale_entries(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    _warm(make_facade, clock, cache)
    clock.advance(3 * DAY)
    primary = ScriptedProvider("one")
    result = make_facade(primary, cache=cache, cache_settings={"read_through": True}).fetch("AAPL")
    assert result.source is DataSource.PRIMARY and primary.call_count == 1


def test_read_through_is_off_by_default(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    _warm(make_facade, clock, cache)
    primary = ScriptedProvider("one")
    assert make_facade(primary, cache=cache).fetch("AAPL").source is DataSource.PRIMARY


def test_enable_fallback_off_skips_later_providers(make_facade: MakeFacade) -> None:
    secondary = ScriptedProvider("two")
    result = make_facade(ScriptedProvider("one", default=DOWN), secondary, enable_fallback=False).fetch("AAPL")
    assert result.source is DataSource.ERROR and secondary.call_count == 0
    assert result.error is not None
    assert "two: fallback disabled" in result.error.message


def test_enable_stale_cache_off_refuses_stale_entries(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    _warm(make_facade, clock, cache)
    clock.advance(3 * DAY)
    result = make_facade(ScriptedProvider("one", default=DOWN), cache=cache, enable_stale_cache=False).fetch("AAPL")
    assert result.source is DataSource.ERROR
    assert result.error is not None
    assert "stale entry (3.0d) not served: stale cache off" in result.error.message


def test_fresh_cache_still_serves_with_both_switches_off(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    _warm(make_facade, clock, cache)
    result = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"), cache=cache,
                         enable_fallback=False, enable_stale_cache=False).fetch("AAPL")
    assert result.source is DataSource.CACHE_FRESH


def test_defaults_are_48h_fresh_and_7d_stale() -> None:
    from resilient_provider import Settings

    cache = Settings().cache
    assert (cache.fresh_for, cache.max_stale_age, cache.read_through) == (48 * HOUR, 7 * DAY, False)


def test_open_breaker_skips_the_provider_without_calling_it(make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one", default=DOWN)
    facade = make_facade(primary, ScriptedProvider("two"), provider_defaults={"retry": {"max_attempts": 1}})
    for _ in range(3):
        facade.fetch("AAPL")
    calls = primary.call_count
    result = facade.fetch("AAPL")
    assert primary.call_count == calls
    assert result.source is DataSource.FALLBACK
    assert result.attempts[0].outcome == "skipped" and result.attempts[0].error_code == "circuit_open"


def test_breaker_lets_a_trial_through_after_reset_timeout(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", default=DOWN)
    facade = make_facade(primary, provider_defaults={"retry": {"max_attempts": 1}})
    for _ in range(3):
        facade.fetch("AAPL")
    primary.set_default(None)  # recovered
    clock.advance(30)
    assert facade.fetch("AAPL").source is DataSource.PRIMARY
    assert facade.get_reliability_stats()["providers"]["one"]["breaker"]["state"] == "half_open"
    facade.fetch("AAPL")
    assert facade.get_reliability_stats()["providers"]["one"]["breaker"]["state"] == "closed"


@pytest.mark.parametrize("bad", [None, 7, "", "AAPL/../x", "ſPY"])
def test_invalid_symbols_raise_before_any_io(make_facade: MakeFacade, bad: object) -> None:
    from resilient_provider.errors import InvalidSymbolError

    primary = ScriptedProvider("one")
    facade = make_facade(primary)
    with pytest.raises(InvalidSymbolError, match="invalid symbol"):
        facade.get_ticker_info(bad)  # type: ignore[arg-type]
    assert primary.call_count == 0
    assert facade.get_reliability_stats()["total_requests"] == 0


def test_busy_half_open_trials_are_reported_as_such(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", default=DOWN)
    facade = make_facade(primary, provider_defaults={"retry": {"max_attempts": 1}})
    for _ in range(3):
        facade.fetch("AAPL")
    clock.advance(30)
    assert facade._guarded[0].breaker.acquire() is not None  # another caller's trial is in flight
    result = facade.fetch("AAPL")
    assert result.attempts[0].detail == "circuit half-open, trial calls busy"
