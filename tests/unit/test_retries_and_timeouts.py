"""Retries (tenacity), Retry-After, per-call timeouts and the whole-request deadline."""

from __future__ import annotations

import random
import time

import pytest

from resilient_provider import DataSource, ResilientProvider
from resilient_provider.cache import MemoryCache
from resilient_provider.errors import (
    ProviderUnavailableError,
    RateLimitError,
    SymbolNotFoundError,
)
from resilient_provider.testing import FakeClock, Hang, Raise, ScriptedProvider, make_info

from ..conftest import MakeFacade, fast_settings

DOWN = ProviderUnavailableError("connection refused")


def test_retriable_failure_is_retried_on_the_same_provider(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", {"AAPL": [DOWN, make_info("AAPL")]})
    result = make_facade(primary).fetch("AAPL")
    assert result.source is DataSource.PRIMARY
    assert primary.call_count == 2 and clock.sleeps == [0.5]
    assert result.attempts[0].retries == 1


def test_backoff_is_exponential_and_capped(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", default=DOWN)
    make_facade(primary, provider_defaults={"retry": {"max_attempts": 5, "max_delay_s": 1.5},
                                            "breaker": {"failure_threshold": 100}}).fetch("AAPL")
    assert clock.sleeps == [0.5, 1.0, 1.5, 1.5]
    assert primary.call_count == 5


def test_jitter_comes_from_the_injected_rng() -> None:
    waits = []
    for _ in range(2):
        clk = FakeClock()
        facade = ResilientProvider([ScriptedProvider("one", default=DOWN)], cache=MemoryCache(),
                                   settings=fast_settings(provider_defaults={"retry": {"jitter": 0.25}}),
                                   clock=clk, rng=random.Random(7))
        facade.fetch("AAPL")
        waits.append(clk.sleeps)
        facade.close()
    assert waits[0] == waits[1]
    first, second = waits[0]
    assert 0.5 <= first <= 0.75 and 1.0 <= second <= 1.25
    assert waits[0] != [0.5, 1.0]


def test_retries_stop_after_max_attempts_and_fall_over(make_facade: MakeFacade) -> None:
    primary, secondary = ScriptedProvider("one", default=DOWN), ScriptedProvider("two")
    result = make_facade(primary, secondary).fetch("AAPL")
    assert primary.call_count == 3 and result.source is DataSource.FALLBACK
    assert "(after 3 attempts)" in result.attempts[0].detail


def test_every_retry_is_logged(make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    make_facade(ScriptedProvider("one", default=DOWN)).fetch("AAPL")
    retries = [r.getMessage() for r in debug_logs.records if "retry" in r.getMessage()]
    assert len(retries) == 2
    assert "one: retry 1 of 2 in 0.50s for AAPL: provider_unavailable" in retries[0]


def test_retry_after_is_honoured(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", {"AAPL": [RateLimitError("429", retry_after=12), make_info("AAPL")]})
    assert make_facade(primary, deadline_s=60).fetch("AAPL").source is DataSource.PRIMARY
    assert clock.sleeps == [12]


def test_retry_after_beyond_the_limit_fails_over_now_and_holds_the_breaker_open(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", default=RateLimitError("429", retry_after=3600))
    facade = make_facade(primary, ScriptedProvider("two"))
    assert facade.fetch("AAPL").source is DataSource.FALLBACK
    assert primary.call_count == 1 and clock.sleeps == []
    breaker = facade.get_reliability_stats()["providers"]["one"]["breaker"]
    assert breaker["state"] == "open" and breaker["retry_in_s"] == 3600


def test_retry_that_would_pass_the_deadline_is_not_made(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", {"AAPL": [RateLimitError("429", retry_after=20), make_info("AAPL")]})
    result = make_facade(primary, ScriptedProvider("two"), deadline_s=10).fetch("AAPL")
    assert result.source is DataSource.FALLBACK and primary.call_count == 1 and clock.sleeps == []


@pytest.mark.parametrize("final", [SymbolNotFoundError("Quote not found for symbol: ZZZZ")])
def test_symbol_not_found_is_final(make_facade: MakeFacade, final: SymbolNotFoundError) -> None:
    primary, secondary = ScriptedProvider("one", default=final), ScriptedProvider("two")
    facade = make_facade(primary, secondary)
    info = facade.get_ticker_info("ZZZZ")
    assert info["_error_code"] == "symbol_not_found"
    assert primary.call_count == 1 and secondary.call_count == 0
    breaker = facade.get_reliability_stats()["providers"]["one"]["breaker"]
    assert breaker["failure_count"] == 0


def test_symbol_not_found_still_serves_a_cached_entry(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    cache.set("OLD", make_info("OLD"), fetched_at=clock(), provider="one")
    clock.advance(3 * 86400)
    result = make_facade(ScriptedProvider("one", default=SymbolNotFoundError("gone")), cache=cache).fetch("OLD")
    assert result.source is DataSource.CACHE_STALE


def test_data_without_a_price_breaks_the_contract_and_falls_over(make_facade: MakeFacade) -> None:
    empty = {"trailingPegRatio": None}  # what yfinance answers for an unknown symbol
    primary = ScriptedProvider("one", default=empty)
    result = make_facade(primary, ScriptedProvider("two")).fetch("AAPL")
    assert result.source is DataSource.FALLBACK
    assert result.attempts[0].error_code == "data_contract"
    assert "no finite positive price" in result.attempts[0].detail


@pytest.mark.parametrize("answer, reason", [
    ("Quote not found for symbol: AAPL", "answer is str"),
    (make_info("MSFT"), "answer is for symbol 'MSFT'"),
    (make_info("AAPL", regularMarketPrice=float("nan"), currentPrice=None), "no finite positive price"),
    (make_info("AAPL", marketCap="3T"), "field 'marketCap' is str"),
])
def test_contract_violations_are_data_contract_errors(make_facade: MakeFacade, answer: object, reason: str) -> None:
    result = make_facade(ScriptedProvider("one", default=answer),
                         provider_defaults={"retry": {"max_attempts": 1}}).fetch("AAPL")
    assert result.error is not None and result.error.code == "data_contract"
    assert reason in result.error.message


def test_missing_core_fields_are_filled_with_none(make_facade: MakeFacade) -> None:
    info = make_facade(ScriptedProvider("one", default={"symbol": "X", "regularMarketPrice": 1.5})).get_ticker_info("x")
    assert info["sector"] is None and info["marketCap"] is None and info["regularMarketPrice"] == 1.5


def test_a_foreign_exception_counts_as_provider_unavailable(make_facade: MakeFacade) -> None:
    result = make_facade(ScriptedProvider("one", default=Raise(KeyError("boom"))),
                         provider_defaults={"retry": {"max_attempts": 1}}).fetch("AAPL")
    assert result.error is not None and result.error.code == "provider_unavailable"
    assert "KeyError" in result.error.message


def test_a_raised_taxonomy_error_counts_for_every_symbol_of_the_call(make_facade: MakeFacade) -> None:
    result = make_facade(ScriptedProvider("one", default=Raise(RateLimitError("429 at the door"))),
                         provider_defaults={"retry": {"max_attempts": 1}}).fetch("AAPL")
    assert result.error is not None and result.error.code == "rate_limited"


def test_a_symbol_left_out_of_the_answer_breaks_the_contract(make_facade: MakeFacade) -> None:
    class Silent:
        name = "silent"

        def fetch_info(self, symbols):  # type: ignore[no-untyped-def]
            return {}

        def close(self) -> None:
            pass

    result = make_facade(Silent(), provider_defaults={"retry": {"max_attempts": 1}}).fetch("AAPL")
    assert result.attempts[0].error_code == "data_contract"
    assert "no answer for the symbol" in result.attempts[0].detail


def test_a_hanging_provider_times_out_and_falls_over(make_facade: MakeFacade) -> None:
    hung = ScriptedProvider("one", default=Hang())
    started = time.monotonic()
    # Only the hung provider gets the 0.1 s timeout; the healthy one keeps a generous one so a
    # busy machine cannot make it time out too.
    result = make_facade(hung, ScriptedProvider("two"), provider_defaults={"retry": {"max_attempts": 1}},
                         providers=[{"name": "one", "timeout_s": 0.1}]).fetch("AAPL")
    assert time.monotonic() - started < 2
    assert result.source is DataSource.FALLBACK
    assert result.attempts[0].error_code == "timeout"
    assert result.attempts[0].detail == "timeout after 0.1s"


def test_a_provider_hanging_past_the_deadline_still_returns(make_facade: MakeFacade) -> None:
    one, two = ScriptedProvider("one", default=Hang()), ScriptedProvider("two", default=Hang())
    started = time.monotonic()
    result = make_facade(one, two, deadline_s=0.2, provider_defaults={"timeout_s": 30}).fetch("AAPL")
    elapsed = time.monotonic() - started
    assert elapsed < 1.5
    assert result.source is DataSource.ERROR
    assert result.error is not None and result.error.code == "deadline_exceeded"
    assert "one: request deadline reached after 0.2s" in result.error.message
    assert "two: skipped, request deadline spent" in result.error.message


def test_the_deadline_is_not_held_against_the_breaker(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one", default=Hang()), deadline_s=0.1,
                         provider_defaults={"timeout_s": 30, "breaker": {"failure_threshold": 1}})
    facade.fetch("AAPL")
    assert facade.get_reliability_stats()["providers"]["one"]["breaker"]["state"] == "closed"


def test_no_retry_into_a_breaker_the_call_just_opened(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", default=DOWN)
    facade = make_facade(primary, provider_defaults={"retry": {"max_attempts": 5},
                                                     "breaker": {"failure_threshold": 2}})
    facade.fetch("AAPL")
    assert primary.call_count == 2 and clock.sleeps == [0.5]
