"""Offline mode (the ``offline`` setting): every answer from the cache, at once, tagged as such;
providers that would hang or fail are never called, nothing sleeps."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from resilient_provider import DataSource, Settings
from resilient_provider.cache import CacheEntry, MemoryCache, NotFoundEntry
from resilient_provider.errors import NetworkError, OfflineNoCacheError
from resilient_provider.testing import FakeClock, Hang, Raise, ScriptedProvider, make_info
from tests.conftest import MakeFacade

HOUR = 3600.0
DAY = 86400.0


@pytest.fixture
def cache(clock: FakeClock) -> MemoryCache:
    """AAPL cached 1 h ago (fresh), MSFT 3 days ago (stale), OLD 9 days ago (too old), DEAD
    confirmed unknown 1 h ago."""
    cache = MemoryCache(clock=clock)
    now = clock()
    cache.set_many({"AAPL": CacheEntry(make_info("AAPL"), now - HOUR, "yfinance"),
                    "MSFT": CacheEntry(make_info("MSFT"), now - 3 * DAY, "yahooquery"),
                    "OLD": CacheEntry(make_info("OLD"), now - 9 * DAY, "yfinance")})
    cache.set_not_found([NotFoundEntry("DEAD", now - HOUR, "yfinance")], keep_s=DAY)
    return cache


@pytest.fixture
def dead_sources() -> tuple[ScriptedProvider, ScriptedProvider]:
    """A primary that hangs on every call and a secondary whose every call raises."""
    return (ScriptedProvider("hangs", default=Hang()),
            ScriptedProvider("fails", default=Raise(NetworkError("connection refused"))))


def test_offline_answers_from_the_cache_without_calling_a_provider_or_sleeping(
        make_facade: MakeFacade, cache: MemoryCache, clock: FakeClock,
        dead_sources: tuple[ScriptedProvider, ScriptedProvider]) -> None:
    provider = make_facade(*dead_sources, cache=cache, offline=True)
    started, at = time.perf_counter(), clock()
    fresh, stale = provider.fetch("AAPL"), provider.fetch("msft")
    assert time.perf_counter() - started < 1.0  # the hanging primary would take its timeout
    assert (fresh.source, fresh.is_stale, fresh.provider) == (DataSource.CACHE_FRESH, False,
                                                               "yfinance")
    assert (stale.source, stale.is_stale, stale.age_s) == (DataSource.CACHE_STALE, True, 3 * DAY)
    assert [p.call_count for p in dead_sources] == [0, 0]
    assert clock.sleeps == [] and clock() == at  # no retry backoff, no budget wait
    assert fresh.latency_ms < 100


def test_an_offline_answer_is_tagged_offline_in_its_trace(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache, offline=True)
    result = provider.fetch("AAPL")
    assert [(a.step, a.outcome) for a in result.attempts] == [("offline", "skipped"),
                                                              ("cache", "success")]
    assert "offline mode" in result.attempts[0].detail
    assert result.attempts[1].detail == "fresh entry, 1.0h old"


def test_a_symbol_without_an_entry_gets_offline_no_cache(
        make_facade: MakeFacade, cache: MemoryCache,
        dead_sources: tuple[ScriptedProvider, ScriptedProvider]) -> None:
    provider = make_facade(*dead_sources, cache=cache, offline=True)
    info = provider.get_ticker_info("NVDA")
    assert info["_data_source"] == "error" and info["_error_code"] == "offline_no_cache"
    assert info["error"] == "offline: no provider asked (offline mode); cache: no entry"
    assert isinstance(provider.fetch("NVDA").error, OfflineNoCacheError)
    assert [p.call_count for p in dead_sources] == [0, 0]


def test_an_entry_older_than_max_stale_age_is_not_served_offline(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache, offline=True)
    info = provider.get_ticker_info("OLD")
    assert info["_error_code"] == "offline_no_cache" and "entry too old (9.0d" in info["error"]


def test_stale_entries_are_served_offline_even_with_the_stale_cache_off(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache, offline=True,
                           enable_stale_cache=False)
    assert provider.fetch("MSFT").source is DataSource.CACHE_STALE


def test_a_known_unknown_is_answered_not_found_offline_and_tagged_offline(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache, offline=True)
    result = provider.fetch("DEAD")
    assert result.error is not None and result.error.code == "symbol_not_found"
    assert result.attempts[0].step == "offline"


def test_an_offline_batch_answers_every_symbol_from_one_cache_read(
        make_facade: MakeFacade, cache: MemoryCache, clock: FakeClock,
        dead_sources: tuple[ScriptedProvider, ScriptedProvider]) -> None:
    reads: list[list[str]] = []
    original = cache.get_many

    def counted(symbols: Sequence[str]) -> dict[str, CacheEntry]:
        reads.append(list(symbols))
        return original(symbols)

    cache.get_many = counted  # type: ignore[method-assign]
    provider = make_facade(*dead_sources, cache=cache, offline=True)
    symbols = ["AAPL", "msft", "OLD", "DEAD", "NVDA", "aapl", "not a symbol!"]
    frame = provider.batch_get_ticker_info(symbols, as_frame=True)
    assert list(frame["_data_source"]) == ["cache_fresh", "cache_stale", "error", "error",
                                           "error", "cache_fresh", "error"]
    assert list(frame["_error_code"])[2:5] == ["offline_no_cache", "symbol_not_found",
                                               "offline_no_cache"]
    assert reads[0] == ["AAPL", "MSFT", "OLD", "DEAD", "NVDA"]
    assert [p.call_count for p in dead_sources] == [0, 0] and clock.sleeps == []


def test_offline_answers_are_counted_as_requests_by_source_and_no_provider_call(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache, offline=True)
    provider.batch_fetch(["AAPL", "MSFT", "NVDA", "DEAD"])
    stats = provider.get_reliability_stats()
    assert stats["counts"] == {"primary": 0, "fallback": 0, "cache_fresh": 1, "cache_stale": 1,
                               "error": 1, "not_found": 1}  # DEAD: a known unknown
    assert stats["providers"]["p"]["calls"] == 0


def test_a_failing_cache_read_offline_is_an_offline_no_cache_answer_not_an_exception(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    class Broken(MemoryCache):
        def get_many(self, symbols: object) -> dict[str, CacheEntry]:
            raise OSError("disk on fire")

    provider = make_facade(ScriptedProvider("p"), cache=Broken(clock=clock), offline=True)
    info = provider.get_ticker_info("AAPL")
    assert info["_error_code"] == "offline_no_cache" and "read failed: OSError" in info["error"]
    assert provider.get_reliability_stats()["cache_errors"]["get"] == 1


def test_offline_is_off_by_default_and_the_facade_says_which(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    online = make_facade(ScriptedProvider("p"), cache=cache)
    assert not online.offline and online.fetch("NVDA").source is DataSource.PRIMARY
    assert make_facade(ScriptedProvider("p"), cache=cache, offline=True).offline


def test_the_offline_setting_comes_from_yaml_or_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Settings().offline is False
    (tmp_path / "config.yaml").write_text("offline: true\n")
    assert Settings.from_yaml(tmp_path / "config.yaml").offline is True
    monkeypatch.setenv("RESILIENT_PROVIDER_OFFLINE", "false")
    assert Settings.from_yaml(tmp_path / "config.yaml").offline is False
