"""The negative cache in the strategy: a symbol confirmed unknown costs no provider call until
``cache.not_found_for`` has passed, and only a confirmed not-found is remembered."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from resilient_provider import Attempt, DataSource, ResilientProvider
from resilient_provider.cache import CacheEntry, MemoryCache, NotFoundEntry
from resilient_provider.cache.not_found import NotFoundCache
from resilient_provider.errors import RateLimitError, ServerError, SymbolNotFoundError
from resilient_provider.result import FetchResult
from resilient_provider.stats import ReliabilityStats
from resilient_provider.strategy.known_unknowns import (
    SUSPECT_MIN_WALKED,
    SUSPECT_SHARE,
    KnownUnknowns,
)
from resilient_provider.testing import FakeClock, ScriptedProvider, make_info
from tests.conftest import MakeFacade

HOUR = 3600.0
DAY = 24 * HOUR


def unknown(symbol: str = "NOSUCH") -> SymbolNotFoundError:
    return SymbolNotFoundError(f"no such symbol {symbol}", symbol=symbol)


def asked(provider: ScriptedProvider, symbol: str) -> int:
    """How many calls to ``provider`` named ``symbol``."""
    return sum(symbol in call for call in provider.calls)


@pytest.fixture
def cache(clock: FakeClock) -> MemoryCache:
    return MemoryCache(clock=clock)


# -- answered without a provider ----------------------------------------------------------------

def test_a_confirmed_unknown_costs_no_provider_call_the_second_time(
        make_facade: MakeFacade) -> None:
    yf = ScriptedProvider("yf", {"NOSUCH": unknown()})
    facade = make_facade(yf)
    assert facade.fetch("NOSUCH").error is not None
    again = facade.fetch("NOSUCH")
    assert yf.call_count == 1
    assert again.source is DataSource.ERROR and again.data is None
    assert isinstance(again.error, SymbolNotFoundError)
    assert again.to_tagged_dict()["_error_code"] == "symbol_not_found"
    assert again.attempts == (Attempt("cache", "success", "known unknown (confirmed 0.0s ago by yf)"),)
    assert "cache.not_found_for" in again.error.message and "refresh=True" in again.error.message


def test_the_trace_says_how_long_ago_it_was_confirmed(make_facade: MakeFacade,
                                                      clock: FakeClock) -> None:
    facade = make_facade(ScriptedProvider("yf", {"NOSUCH": unknown()}))
    facade.fetch("NOSUCH")
    clock.advance(3.2 * HOUR)
    [attempt] = facade.fetch("NOSUCH").attempts
    assert attempt.detail == "known unknown (confirmed 3.2h ago by yf)"


def test_hits_are_counted_as_negative_cache_hits_and_as_not_found(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("yf", {"NOSUCH": unknown()}))
    for _ in range(3):
        facade.get_ticker_info("NOSUCH")
    stats = facade.get_reliability_stats()
    assert stats["not_found_cache_hits"] == 2
    assert stats["counts"]["not_found"] == 3 and stats["total_requests"] == 3
    assert stats["counts"]["error"] == 0  # an unknown symbol is no source failing
    assert facade.reliability_report().not_found_cache_hits == 2


def test_after_not_found_for_the_provider_is_asked_again(make_facade: MakeFacade,
                                                         clock: FakeClock) -> None:
    yf = ScriptedProvider("yf", {"NOSUCH": unknown()})
    facade = make_facade(yf)
    facade.fetch("NOSUCH")
    clock.advance(DAY - 1)
    facade.fetch("NOSUCH")
    assert yf.call_count == 1
    clock.advance(1)
    facade.fetch("NOSUCH")
    assert yf.call_count == 2


def test_the_ttl_follows_the_setting(make_facade: MakeFacade, clock: FakeClock) -> None:
    yf = ScriptedProvider("yf", {"NOSUCH": unknown()})
    facade = make_facade(yf, cache_settings={"backend": "memory", "not_found_for": "1h"})
    facade.fetch("NOSUCH")
    clock.advance(HOUR)
    facade.fetch("NOSUCH")
    assert yf.call_count == 2


def test_zero_turns_the_negative_cache_off(make_facade: MakeFacade, cache: MemoryCache) -> None:
    yf = ScriptedProvider("yf", {"NOSUCH": unknown()})
    facade = make_facade(yf, cache=cache,
                         cache_settings={"backend": "memory", "not_found_for": 0})
    facade.fetch("NOSUCH")
    facade.fetch("NOSUCH")
    assert yf.call_count == 2 and cache.get_not_found(["NOSUCH"]) == {}


def test_a_new_facade_on_the_same_cache_remembers(make_facade: MakeFacade,
                                                  cache: MemoryCache) -> None:
    make_facade(ScriptedProvider("yf", {"NOSUCH": unknown()}), cache=cache).fetch("NOSUCH")
    later = ScriptedProvider("yf", {"NOSUCH": unknown()})
    assert make_facade(later, cache=cache).fetch("NOSUCH").error is not None
    assert later.call_count == 0


# -- batches ------------------------------------------------------------------------------------

class CountingCache(MemoryCache):
    """A memory cache that records each read of negative-cache rows."""

    def __init__(self, *, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.reads: list[list[str]] = []

    def get_not_found(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        self.reads.append(list(symbols))
        return super().get_not_found(symbols)


def test_a_batch_reads_the_negative_cache_once_and_asks_only_for_the_rest(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = CountingCache(clock=clock)
    dead = [f"DEAD{i}" for i in range(3)]
    live = [f"T{i:02d}" for i in range(60)]
    yf = ScriptedProvider("yf", {s: unknown(s) for s in dead})
    facade = make_facade(yf, cache=cache, batch_size=5)
    facade.batch_fetch([*dead, *live])
    assert len(cache.reads) == 1
    yf.calls.clear()
    cache.reads.clear()
    results = facade.batch_fetch([*dead, *live])
    assert len(cache.reads) == 1 and len(cache.reads[0]) == 63
    assert all(asked(yf, s) == 0 for s in dead) and all(asked(yf, s) == 1 for s in live)
    assert {results[s].attempts[0].detail.startswith("known unknown") for s in dead} == {True}
    assert facade.get_reliability_stats()["not_found_cache_hits"] == 3


def test_half_of_a_large_batch_not_found_is_not_remembered(make_facade: MakeFacade,
                                                           cache: MemoryCache) -> None:
    size = SUSPECT_MIN_WALKED
    dead = [f"DEAD{i}" for i in range(int(size * SUSPECT_SHARE))]
    live = [f"T{i}" for i in range(size - len(dead))]
    facade = make_facade(ScriptedProvider("yf", {s: unknown(s) for s in dead}), cache=cache)
    facade.batch_fetch([*dead, *live])
    assert cache.get_not_found(dead) == {}


def test_fewer_than_half_of_a_large_batch_not_found_is_remembered(make_facade: MakeFacade,
                                                                  cache: MemoryCache) -> None:
    dead = [f"DEAD{i}" for i in range(int(SUSPECT_MIN_WALKED * SUSPECT_SHARE) - 1)]
    live = [f"T{i}" for i in range(SUSPECT_MIN_WALKED - len(dead))]
    facade = make_facade(ScriptedProvider("yf", {s: unknown(s) for s in dead}), cache=cache)
    facade.batch_fetch([*dead, *live])
    assert cache.get_not_found(dead).keys() == set(dead)


def test_a_small_batch_all_not_found_is_remembered(make_facade: MakeFacade,
                                                   cache: MemoryCache) -> None:
    dead = [f"DEAD{i}" for i in range(SUSPECT_MIN_WALKED - 1)]
    facade = make_facade(ScriptedProvider("yf", {s: unknown(s) for s in dead}), cache=cache)
    facade.batch_fetch(dead)
    assert cache.get_not_found(dead).keys() == set(dead)


# -- only a confirmed not-found -----------------------------------------------------------------

def test_a_not_found_after_a_retried_429_is_not_remembered(make_facade: MakeFacade,
                                                           cache: MemoryCache) -> None:
    yf = ScriptedProvider("yf", {"NOSUCH": [RateLimitError("HTTP 429", retry_after=1),
                                             unknown()]})
    facade = make_facade(yf, cache=cache)
    attempt = facade.fetch("NOSUCH").attempts[0]
    assert (attempt.error_code, attempt.retried_codes) == ("symbol_not_found", ("rate_limited",))
    assert cache.get_not_found(["NOSUCH"]) == {}


def test_a_not_found_from_the_fallback_after_a_429_is_not_remembered(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    yf = ScriptedProvider("yf", {"NOSUCH": RateLimitError("HTTP 429", retry_after=3600)})
    yq = ScriptedProvider("yq", {"NOSUCH": unknown()})
    facade = make_facade(yf, yq, cache=cache)
    result = facade.fetch("NOSUCH")
    assert [a.error_code for a in result.attempts] == ["rate_limited", "symbol_not_found", None]
    assert cache.get_not_found(["NOSUCH"]) == {}


def test_a_not_found_from_the_fallback_after_an_outage_is_not_remembered(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    # The answer is the outage's (server_error), not symbol_not_found: the primary never said
    # it does not know the symbol, so it is not answered as unknown next time either.
    yf = ScriptedProvider("yf", {"NOSUCH": ServerError("HTTP 503")})
    facade = make_facade(yf, ScriptedProvider("yq", {"NOSUCH": unknown()}), cache=cache,
                         provider_defaults={"retry": {"max_attempts": 1}})
    result = facade.fetch("NOSUCH")
    assert result.error is not None and result.error.code == "server_error"
    assert cache.get_not_found(["NOSUCH"]) == {}


class Upstream:
    def __init__(self, cooling_for_s: float) -> None:
        self.cooling = cooling_for_s

    def cooling_for_s(self) -> float:
        return self.cooling


def said_by(provider: str, symbol: str = "NOSUCH") -> FetchResult:
    attempt = Attempt(provider, "error", "no such symbol", "symbol_not_found")
    return FetchResult(symbol=symbol, source=DataSource.ERROR, error=unknown(symbol),
                       attempts=(attempt, Attempt("cache", "miss", "no entry")))


def known_unknowns(clock: FakeClock, cache: MemoryCache,
                   **upstreams: Upstream | None) -> KnownUnknowns:
    negative = NotFoundCache(cache, ttl_s=DAY, clock=clock)
    return KnownUnknowns(negative, cache, stats=ReliabilityStats(clock=clock),
                         upstreams=upstreams)


def test_a_not_found_while_its_upstream_cools_down_is_not_remembered(
        clock: FakeClock, cache: MemoryCache) -> None:
    learner = known_unknowns(clock, cache, yf=Upstream(cooling_for_s=2.0), yq=Upstream(0.0))
    learner.learn({"A": said_by("yf", "A"), "B": said_by("yq", "B")})
    assert cache.get_not_found(["A", "B"]).keys() == {"B"}


def test_only_a_providers_answer_confirms(clock: FakeClock, cache: MemoryCache) -> None:
    shared = FetchResult(symbol="NOSUCH", source=DataSource.ERROR, error=unknown(),
                         attempts=(Attempt("cache", "success", "known unknown (…)"),))
    skipped = FetchResult(symbol="GONE", source=DataSource.ERROR, error=unknown("GONE"),
                          attempts=(Attempt("yf", "skipped", "circuit open", "circuit_open"),))
    known_unknowns(clock, cache).learn({"NOSUCH": shared, "GONE": skipped})
    assert cache.get_not_found(["NOSUCH", "GONE"]) == {}


# -- never over a positive entry ----------------------------------------------------------------

def test_a_symbol_with_a_cache_entry_is_not_remembered_as_unknown(
        make_facade: MakeFacade, cache: MemoryCache, clock: FakeClock) -> None:
    cache.set("GONE", make_info("GONE"), fetched_at=clock() - 3 * DAY, provider="yf")
    facade = make_facade(ScriptedProvider("yf", {"GONE": unknown("GONE")}), cache=cache,
                         enable_stale_cache=False)
    assert facade.fetch("GONE").error is not None  # stale entry kept, not served
    assert cache.get_not_found(["GONE"]) == {}


def test_a_row_beside_a_cache_entry_is_ignored_and_dropped(make_facade: MakeFacade,
                                                           cache: MemoryCache,
                                                           clock: FakeClock) -> None:
    cache.set("AAPL", make_info("AAPL"), fetched_at=clock() - 3 * DAY, provider="yf")
    cache.set_not_found([NotFoundEntry("AAPL", clock(), "yq")], keep_s=DAY)
    yf = ScriptedProvider("yf")
    result = make_facade(yf, cache=cache).fetch("AAPL")
    assert result.source is DataSource.PRIMARY and yf.call_count == 1
    assert cache.get_not_found(["AAPL"]) == {}


def test_a_symbol_found_after_all_loses_its_row(make_facade: MakeFacade, cache: MemoryCache,
                                                clock: FakeClock) -> None:
    yf = ScriptedProvider("yf", {"NEWCO": [unknown("NEWCO"), make_info("NEWCO")]})
    facade = make_facade(yf, cache=cache)
    facade.fetch("NEWCO")
    clock.advance(DAY)  # the row expires but is still stored
    assert cache.get_not_found(["NEWCO"]).keys() == {"NEWCO"}
    assert facade.fetch("NEWCO").source is DataSource.PRIMARY
    assert cache.get_not_found(["NEWCO"]) == {}


# -- refresh=True -------------------------------------------------------------------------------

def test_refresh_asks_the_provider_and_a_listing_drops_the_row(make_facade: MakeFacade,
                                                               cache: MemoryCache) -> None:
    yf = ScriptedProvider("yf", {"NEWCO": [unknown("NEWCO"), make_info("NEWCO")]})
    facade = make_facade(yf, cache=cache)
    facade.fetch("NEWCO")
    assert facade.get_ticker_info("NEWCO", refresh=True)["_data_source"] == "primary"
    assert yf.call_count == 2 and cache.get_not_found(["NEWCO"]) == {}
    assert facade.get_reliability_stats()["not_found_cache_hits"] == 0


def test_refresh_reconfirms_a_still_unknown_symbol(make_facade: MakeFacade, cache: MemoryCache,
                                                   clock: FakeClock) -> None:
    facade = make_facade(ScriptedProvider("yf", {"NOSUCH": unknown()}), cache=cache)
    facade.fetch("NOSUCH")
    clock.advance(HOUR)
    facade.fetch("NOSUCH", refresh=True)
    assert cache.get_not_found(["NOSUCH"])["NOSUCH"].confirmed_at == clock()


def test_refresh_bypasses_it_in_batches_too(make_facade: MakeFacade) -> None:
    yf = ScriptedProvider("yf", {"NOSUCH": unknown()})
    facade = make_facade(yf)
    facade.batch_fetch(["NOSUCH", "AAPL"])
    facade.batch_get_ticker_info(["NOSUCH", "AAPL"], refresh=True)
    facade.batch_fetch(["NOSUCH", "AAPL"], refresh=True)
    assert asked(yf, "NOSUCH") == 3
    facade.batch_fetch(["NOSUCH", "AAPL"])
    assert asked(yf, "NOSUCH") == 3


def test_refresh_bypasses_the_read_through(make_facade: MakeFacade) -> None:
    yf = ScriptedProvider("yf")
    facade = make_facade(yf, cache_settings={"backend": "memory", "read_through": True})
    facade.fetch("AAPL")
    assert facade.fetch("AAPL").source is DataSource.CACHE_FRESH
    assert facade.fetch("AAPL", refresh=True).source is DataSource.PRIMARY
    assert yf.call_count == 2


def test_refresh_still_falls_back_to_the_cache(make_facade: MakeFacade) -> None:
    yf = ScriptedProvider("yf", {"AAPL": [make_info("AAPL"), ServerError("HTTP 503")]})
    facade = make_facade(yf, provider_defaults={"retry": {"max_attempts": 1}})
    facade.fetch("AAPL")
    assert facade.fetch("AAPL", refresh=True).source is DataSource.CACHE_FRESH


def test_the_async_twins_take_refresh(make_facade: MakeFacade) -> None:
    yf = ScriptedProvider("yf", {"NOSUCH": unknown()})
    facade = make_facade(yf)

    async def run(provider: ResilientProvider) -> list[Any]:
        return [await provider.afetch("NOSUCH"),
                await provider.aget_ticker_info("NOSUCH"),
                await provider.afetch("NOSUCH", refresh=True),
                await provider.aget_ticker_info("NOSUCH", refresh=True),
                await provider.abatch_fetch(["NOSUCH"], refresh=True),
                await provider.abatch_get_ticker_info(["NOSUCH"], refresh=True),
                await provider.abatch_fetch(["NOSUCH"])]

    asyncio.run(run(facade))
    assert asked(yf, "NOSUCH") == 5


# -- a broken negative cache --------------------------------------------------------------------

class BrokenRows(MemoryCache):
    """A backend whose negative-cache rows cannot be read or written."""

    def get_not_found(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        raise OSError("disk on fire")

    def set_not_found(self, entries: Sequence[NotFoundEntry], *, keep_s: float) -> None:
        raise OSError("disk on fire")


def test_a_broken_negative_cache_does_not_fail_the_request(make_facade: MakeFacade,
                                                           clock: FakeClock) -> None:
    yf = ScriptedProvider("yf", {"NOSUCH": unknown()})
    facade = make_facade(yf, cache=BrokenRows(clock=clock))
    for _ in range(2):
        assert facade.get_ticker_info("NOSUCH")["_error_code"] == "symbol_not_found"
        assert facade.get_ticker_info("AAPL")["_data_source"] == "primary"
    assert yf.call_count == 4
    errors = facade.get_reliability_stats()["cache_errors"]
    assert errors["not_found_get"] == 4 and errors["not_found_set"] == 2


def test_a_failing_entry_read_keeps_the_negative_cache_out_of_the_way(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    class NoEntries(MemoryCache):
        def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
            raise OSError("cannot read entries")

    cache = NoEntries(clock=clock)
    cache.set_not_found([NotFoundEntry("NOSUCH", clock(), "yf")], keep_s=DAY)
    yf = ScriptedProvider("yf", {"NOSUCH": unknown()})
    assert make_facade(yf, cache=cache).fetch("NOSUCH").attempts[0].step == "yf"
