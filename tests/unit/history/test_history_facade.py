"""get_history and batch_get_history through the cascade, with scripted history providers.

Acceptance 2 (cached ranges cost no provider call; extending one asks for the missing part
only) and 3 (primary down → the fallback serves the same frame; both down → cached bars
tagged fresh or stale), the partial-answer rule, the shared guard and the façade's surface.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from resilient_provider import DataSource, InvalidSymbolError, ResilientProvider
from resilient_provider.cache import MemoryCache
from resilient_provider.errors import ServerError, SymbolNotFoundError
from resilient_provider.history.request import InvalidHistoryRequestError
from resilient_provider.testing import (
    FakeClock,
    Raise,
    ScriptedHistoryProvider,
    ScriptedProvider,
    make_bars,
)
from tests.conftest import MakeFacade, fast_settings

NOW = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)  # a Monday, markets open


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW.timestamp())


def down(name: str) -> ScriptedHistoryProvider:
    provider = ScriptedHistoryProvider(name)
    provider.set_history("AAPL", ServerError("HTTP 503", status=503))
    return provider


def test_a_second_request_for_a_cached_range_costs_no_provider_call(
        make_facade: MakeFacade) -> None:
    primary = ScriptedHistoryProvider("primary")
    facade = make_facade(primary)
    first = facade.get_history("AAPL", start="2024-01-02", end="2024-03-01")
    again = facade.get_history("AAPL", start="2024-01-10", end="2024-02-01")
    assert len(primary.history_calls) == 1
    assert first.source is DataSource.PRIMARY and again.source is DataSource.CACHE_FRESH
    assert again.frame.equals(first.frame.loc["2024-01-10":"2024-01-31"])


class TickingClock(FakeClock):
    """A fake clock that moves on by a millisecond each time it is read, as time does between
    resolving a request and answering it."""

    def __call__(self) -> float:
        self.advance(0.001)
        return super().__call__()


def test_a_period_asked_again_is_served_from_the_cache_as_time_moves_on() -> None:
    # A period runs up to now: resolved a moment before the cascade's own now, the range's
    # end fell short of it and every second ask fetched a tail of a few milliseconds (500
    # chart requests for 500 cached symbols in the history benchmark).
    clock = TickingClock(NOW.timestamp())
    primary = ScriptedHistoryProvider("primary")
    with ResilientProvider([primary], cache=MemoryCache(clock=clock),
                           settings=fast_settings(), clock=clock) as facade:
        first = facade.get_history("AAPL", period="1mo")
        clock.advance(60)
        again = facade.get_history("AAPL", period="1mo")
    assert first.source is DataSource.PRIMARY and again.source is DataSource.CACHE_FRESH
    assert len(primary.history_calls) == 1


def test_extending_the_range_asks_only_for_the_missing_part(make_facade: MakeFacade) -> None:
    primary = ScriptedHistoryProvider("primary")
    facade = make_facade(primary)
    facade.get_history("AAPL", start="2024-01-02", end="2024-03-01")
    longer = facade.get_history("AAPL", start="2024-01-02", end="2024-04-01")
    assert len(primary.history_calls) == 2
    call = primary.history_calls[-1]
    assert (call.start, call.end) == (datetime(2024, 3, 1, tzinfo=UTC),
                                      datetime(2024, 4, 1, tzinfo=UTC))
    whole = make_bars("AAPL", datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
    pd.testing.assert_frame_equal(longer.frame, whole, check_freq=False)


def test_a_period_asked_again_later_fetches_only_the_tail_past_the_final_bars(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedHistoryProvider("primary")
    facade = make_facade(primary)
    facade.get_history("AAPL", period="1y")
    clock.advance(60)  # the forming bar is still fresh (history.forming_fresh_for: 15m)
    assert facade.get_history("AAPL", period="1y").source is DataSource.CACHE_FRESH
    clock.advance(3600)
    result = facade.get_history("AAPL", period="1y")
    assert result.source is DataSource.PRIMARY and len(primary.history_calls) == 2
    tail = primary.history_calls[-1]
    assert tail.end == NOW + timedelta(seconds=3660)
    assert tail.start == NOW - timedelta(days=1)  # the last bar that had not ended, on


def test_intraday_bars_go_stale_after_one_bar(make_facade: MakeFacade,
                                              clock: FakeClock) -> None:
    primary = ScriptedHistoryProvider("primary")
    facade = make_facade(primary)
    facade.get_history("AAPL", period="1d", interval="1m")
    clock.advance(30)
    facade.get_history("AAPL", period="1d", interval="1m")
    assert len(primary.history_calls) == 1
    clock.advance(45)
    facade.get_history("AAPL", period="1d", interval="1m")
    assert len(primary.history_calls) == 2


def test_primary_down_the_fallback_serves_the_same_frame(make_facade: MakeFacade) -> None:
    healthy = make_facade(ScriptedHistoryProvider("primary"))
    expected = healthy.get_history("AAPL", start="2024-01-02", end="2024-03-01")
    facade = make_facade(down("primary"), ScriptedHistoryProvider("fallback"))
    result = facade.get_history("AAPL", start="2024-01-02", end="2024-03-01")
    assert result.source is DataSource.FALLBACK and result.provider == "fallback"
    pd.testing.assert_frame_equal(result.frame, expected.frame)
    assert [a.step for a in result.attempts] == ["primary", "fallback"]
    assert result.attempts[0].error_code == "server_error"


def test_both_down_cached_bars_are_served_fresh_then_stale(make_facade: MakeFacade,
                                                          clock: FakeClock) -> None:
    primary, fallback = ScriptedHistoryProvider("primary"), ScriptedHistoryProvider("fallback")
    facade = make_facade(primary, fallback)
    live = facade.get_history("AAPL", period="1mo")
    for provider in (primary, fallback):
        provider.set_history("AAPL", ServerError("HTTP 503", status=503))
    clock.advance(300)
    fresh = facade.get_history("AAPL", period="1mo")
    assert (fresh.source, fresh.is_stale, fresh.age_s) == (DataSource.CACHE_FRESH, False, 300)
    clock.advance(3600)
    stale = facade.get_history("AAPL", period="1mo")
    assert (stale.source, stale.is_stale, stale.error) == (DataSource.CACHE_STALE, True, None)
    assert stale.age_s == 3900 and stale.provider == "primary"
    assert [a.step for a in stale.attempts] == ["primary", "fallback", "cache"]
    pd.testing.assert_frame_equal(stale.frame, live.frame.loc[stale.frame.index[0]:])


def test_both_down_and_nothing_cached_is_a_tagged_error(make_facade: MakeFacade) -> None:
    facade = make_facade(down("primary"), down("fallback"))
    result = facade.get_history("AAPL", period="1mo")
    assert result.source is DataSource.ERROR and result.error_code == "server_error"
    assert result.frame.empty and list(result.frame.columns)[:4] == ["open", "high", "low",
                                                                      "close"]
    assert "primary: HTTP 503" in result.error.message  # type: ignore[union-attr]


def test_a_partial_answer_is_completed_from_the_next_source(make_facade: MakeFacade) -> None:
    start, end = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
    cut = make_bars("AAPL", start, datetime(2024, 2, 1, tzinfo=UTC))  # a range cut short
    primary = ScriptedHistoryProvider("primary", {"AAPL": cut})
    facade = make_facade(primary, ScriptedHistoryProvider("fallback"))
    result = facade.get_history("AAPL", start=start, end=end)
    assert result.source is DataSource.FALLBACK
    assert result.attempts[0].error_code == "data_contract"
    assert "cut short" in result.attempts[0].detail
    assert result.frame.index[-1] == pd.Timestamp("2024-02-29", tz="America/New_York")


def test_a_new_dividend_in_the_tail_refetches_the_bars_it_outdated(
        make_facade: MakeFacade) -> None:
    primary = ScriptedHistoryProvider("primary")
    facade = make_facade(primary)
    facade.get_history("AAPL", start="2024-01-02", end="2024-03-01")
    primary.events["AAPL"] = {"dividends": {"2024-03-08": 0.5}}  # announced since
    result = facade.get_history("AAPL", start="2024-01-02", end="2024-04-01", adjust="splits")
    asked = [(c.start.date().isoformat(), c.end.date().isoformat())
             for c in primary.history_calls]
    assert asked == [("2024-01-02", "2024-03-01"), ("2024-03-01", "2024-04-01"),
                     ("2024-01-02", "2024-03-01")]
    fresh = make_bars("AAPL", datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC),
                      dividends={"2024-03-08": 0.5})
    pd.testing.assert_frame_equal(result.frame, fresh, check_freq=False)


def test_not_found_ends_the_walk(make_facade: MakeFacade) -> None:
    fallback = ScriptedHistoryProvider("fallback")
    facade = make_facade(ScriptedHistoryProvider("primary", {"ZZZZ": SymbolNotFoundError(
        "no such symbol", symbol="ZZZZ")}), fallback)
    result = facade.get_history("ZZZZ", period="1mo")
    assert result.error_code == "symbol_not_found" and fallback.history_calls == []


def test_providers_without_fetch_history_are_skipped(make_facade: MakeFacade) -> None:
    info_only = ScriptedProvider("info_only")
    facade = make_facade(info_only, ScriptedHistoryProvider("history"))
    result = facade.get_history("AAPL", period="5d")
    # The first provider that serves history is its primary.
    assert result.source is DataSource.PRIMARY and result.provider == "history"
    assert result.attempts[0].outcome == "skipped" and info_only.calls == []


def test_history_calls_pass_the_same_breaker_and_retries_as_info(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedHistoryProvider("primary")
    primary.set_history("AAPL", Raise(ConnectionError("reset")))
    facade = make_facade(primary, ScriptedHistoryProvider("fallback"))
    facade.get_history("AAPL", period="5d")
    assert len(primary.history_calls) == 3  # retry.max_attempts
    assert clock.sleeps == [0.5, 1.0]  # the retry backoffs, on the fake clock
    breaker = facade.reliability_report().providers["primary"].breaker
    assert breaker is not None and breaker.state == "open"
    before = primary.call_count
    assert facade.get_ticker_info("AAPL")["_data_source"] == "fallback"  # info skips it too
    assert primary.call_count == before


def test_bad_input_raises_before_any_io(make_facade: MakeFacade) -> None:
    primary = ScriptedHistoryProvider("primary")
    facade = make_facade(primary)
    with pytest.raises(InvalidSymbolError):
        facade.get_history("AAPL/../x", period="1mo")
    with pytest.raises(InvalidHistoryRequestError, match="'7d'"):
        facade.get_history("AAPL", period="7d")
    with pytest.raises(InvalidHistoryRequestError, match="'4h'"):
        facade.batch_get_history(["AAPL"], interval="4h")
    assert primary.history_calls == []


def test_batch_answers_one_long_frame_or_a_dict(make_facade: MakeFacade) -> None:
    primary = ScriptedHistoryProvider("primary", {"BAD": ServerError("HTTP 500", status=500)})
    facade = make_facade(primary, batch_size=2)
    frame = facade.batch_get_history(["AAPL", "msft", "NVDA", "BAD"], period="1mo")
    assert frame.index.names == ["symbol", "timestamp"]
    assert set(frame.index.get_level_values("symbol")) == {"AAPL", "MSFT", "NVDA"}
    assert str(getattr(frame.index.get_level_values("timestamp"), "tz", None)) == "UTC"
    results = facade.batch_get_history(["AAPL", "msft", "not a symbol!"], period="1mo",
                                       as_frame=False)
    assert list(results) == ["AAPL", "msft", "not a symbol!"]
    assert results["msft"].source is DataSource.CACHE_FRESH and results["msft"].ticker == "msft"
    assert results["not a symbol!"].error_code == "invalid_symbol"
    assert all(len(c.symbols) <= 2 for c in primary.history_calls)


def test_the_async_twin_and_the_stats(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedHistoryProvider("primary"))
    result = asyncio.run(facade.aget_history("aapl", period="5d"))
    assert result.ticker == "aapl" and result.source is DataSource.PRIMARY
    asyncio.run(facade.abatch_get_history(["AAPL"], period="5d"))
    counts = facade.get_reliability_stats()["counts"]
    assert (counts["primary"], counts["cache_fresh"]) == (1, 1)
    assert repr(result).startswith("HistoryResult(symbol='AAPL', ticker='aapl', interval='1d', "
                                   "source='primary', provider='primary', stale=False")
