"""The negative cache's rows: kept by both backends beside their entries, never among them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from resilient_provider.cache import (
    CacheBackend,
    CacheEntry,
    DiskCache,
    MemoryCache,
    NotFoundEntry,
    NotFoundStore,
)
from resilient_provider.cache.base import cache_key, not_found_key
from resilient_provider.cache.not_found import (
    MemoryNotFoundStore,
    NotFoundCache,
    decode_not_found,
    encode_not_found,
    open_not_found,
)
from resilient_provider.config import CacheSettings
from resilient_provider.testing import FakeClock

DAY = 86400.0


def row(symbol: str, confirmed_at: float = 1_000.0, provider: str = "yfinance") -> NotFoundEntry:
    return NotFoundEntry(symbol, confirmed_at, provider)


def store_of(backend: CacheBackend) -> NotFoundStore:
    assert isinstance(backend, NotFoundStore)
    return backend


def info(symbol: str) -> dict[str, Any]:
    return {"symbol": symbol, "regularMarketPrice": 1.5}


# -- both backends ----------------------------------------------------------------------------

def test_both_backends_are_not_found_stores(backend: CacheBackend) -> None:
    assert isinstance(backend, NotFoundStore) and isinstance(backend, CacheBackend)


def test_get_not_found_returns_what_set_not_found_stored(backend: CacheBackend) -> None:
    store = store_of(backend)
    store.set_not_found([row("NOSUCH"), row("GONE", 2_000.0, "yahooquery")], keep_s=DAY)
    assert store.get_not_found(["NOSUCH", "AAPL", "GONE"]) == {
        "NOSUCH": row("NOSUCH"), "GONE": row("GONE", 2_000.0, "yahooquery")}


def test_a_row_replaces_an_earlier_one(backend: CacheBackend) -> None:
    store = store_of(backend)
    store.set_not_found([row("NOSUCH", 1_000.0)], keep_s=DAY)
    store.set_not_found([row("NOSUCH", 5_000.0, "yahooquery")], keep_s=DAY)
    assert store.get_not_found(["NOSUCH"]) == {"NOSUCH": row("NOSUCH", 5_000.0, "yahooquery")}


def test_rows_and_entries_never_mix(backend: CacheBackend) -> None:
    store = store_of(backend)
    store.set_not_found([row("NOSUCH")], keep_s=DAY)
    backend.set("AAPL", info("AAPL"), fetched_at=1_000.0, provider="yfinance")
    assert backend.get("NOSUCH") is None and backend.get_many(["NOSUCH", "AAPL"]).keys() == {"AAPL"}
    assert store.get_not_found(["NOSUCH", "AAPL"]).keys() == {"NOSUCH"}


def test_deleting_an_entry_and_deleting_a_row_are_apart(backend: CacheBackend) -> None:
    store = store_of(backend)
    store.set_not_found([row("BOTH")], keep_s=DAY)
    backend.set("BOTH", info("BOTH"), fetched_at=1_000.0, provider="yfinance")
    assert backend.delete("BOTH") is True
    assert store.get_not_found(["BOTH"]) == {"BOTH": row("BOTH")}
    backend.set("BOTH", info("BOTH"), fetched_at=1_000.0, provider="yfinance")
    store.delete_not_found(["BOTH", "NEVER"])
    assert store.get_not_found(["BOTH"]) == {}
    assert backend.get("BOTH") == CacheEntry(info("BOTH"), 1_000.0, "yfinance")


def test_clear_forgets_rows_too(backend: CacheBackend) -> None:
    store_of(backend).set_not_found([row("NOSUCH")], keep_s=DAY)
    backend.clear()
    assert store_of(backend).get_not_found(["NOSUCH"]) == {}


def test_prune_removes_rows_confirmed_before_the_cutoff(backend: CacheBackend) -> None:
    store = store_of(backend)
    store.set_not_found([row("OLD", 100.0), row("NEW", 900.0)], keep_s=1e12)
    backend.set("AAPL", info("AAPL"), fetched_at=900.0, provider="yfinance")
    assert backend.prune(older_than=500.0) == 1
    assert store.get_not_found(["OLD", "NEW"]).keys() == {"NEW"}
    assert backend.get("AAPL") is not None


def test_nothing_to_set_or_delete_is_fine(backend: CacheBackend) -> None:
    store = store_of(backend)
    store.set_not_found([], keep_s=DAY)
    store.delete_not_found([])
    assert store.get_not_found(["X"]) == {}


# -- disk ---------------------------------------------------------------------------------------

def test_disk_rows_persist_across_reopening(cache_dir: Path) -> None:
    first = DiskCache(cache_dir)
    first.set_not_found([row("NOSUCH")], keep_s=DAY)
    first.close()
    again = DiskCache(cache_dir)
    assert again.get_not_found(["NOSUCH"]) == {"NOSUCH": row("NOSUCH")}
    again.close()


def test_disk_rows_are_json_under_their_own_key(disk: DiskCache) -> None:
    disk.set_not_found([row("NOSUCH")], keep_s=DAY)
    raw = disk._cache.get(not_found_key("NOSUCH"))
    assert orjson.loads(raw) == {"v": 1, "symbol": "NOSUCH", "confirmed_at": 1_000.0,
                                 "provider": "yfinance"}
    assert not_found_key("NOSUCH") != cache_key("NOSUCH")
    assert disk._cache.get(cache_key("NOSUCH")) is None


def test_an_unreadable_disk_row_is_dropped_and_missing(disk: DiskCache,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    disk._cache.set(not_found_key("NOSUCH"), b"{not json", expire=None)
    disk._cache.set(not_found_key("OTHER"), encode_not_found(row("WRONG")), expire=None)
    with caplog.at_level(logging.WARNING, logger="resilient_provider.cache.disk"):
        assert disk.get_not_found(["NOSUCH", "OTHER"]) == {}
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 2
    assert disk._cache.get(not_found_key("NOSUCH")) is None


def test_disk_prune_reads_rows_as_rows_not_as_broken_entries(
        disk: DiskCache, caplog: pytest.LogCaptureFixture) -> None:
    disk.set_not_found([row("NEW", 900.0)], keep_s=DAY)
    with caplog.at_level(logging.WARNING, logger="resilient_provider.cache.disk"):
        assert disk.prune(older_than=500.0) == 0
    assert caplog.records == [] and disk.get_not_found(["NEW"]).keys() == {"NEW"}


# -- memory -------------------------------------------------------------------------------------

def test_a_memory_row_is_dropped_keep_s_after_it_was_stored(clock: FakeClock) -> None:
    store = MemoryCache(clock=clock)
    store.set_not_found([row("NOSUCH", 1_000.0)], keep_s=DAY)
    clock.advance(DAY - 1)
    assert store.get_not_found(["NOSUCH"]).keys() == {"NOSUCH"}
    clock.advance(2)
    assert store.get_not_found(["NOSUCH"]) == {}


# -- rows, the negative cache and its opening ---------------------------------------------------

def test_a_row_round_trips_through_json_and_garbage_is_none() -> None:
    assert decode_not_found(encode_not_found(row("NOSUCH"))) == row("NOSUCH")
    for garbage in (b"[]", b"{", b'{"v": 0, "symbol": "X", "confirmed_at": 1, "provider": "p"}',
                    b'{"v": 1, "symbol": 3, "confirmed_at": 1, "provider": "p"}'):
        assert decode_not_found(garbage) is None


def test_a_confirmation_is_current_for_ttl_s(clock: FakeClock) -> None:
    negative = NotFoundCache(MemoryNotFoundStore(clock=clock), ttl_s=DAY, clock=clock)
    negative.remember({"NOSUCH": "yfinance"})
    [entry] = negative.read(["NOSUCH"]).values()
    assert entry == NotFoundEntry("NOSUCH", clock(), "yfinance")
    assert negative.is_current(entry, clock() + DAY - 1)
    assert not negative.is_current(entry, clock() + DAY)


@pytest.mark.parametrize("confirmed_at", [1e300, 10_000.0, float("nan")])
def test_a_stamp_that_is_not_a_confirmation_time_is_never_current(clock: FakeClock,
                                                                  confirmed_at: float) -> None:
    # A row stamped far in the future (another process, a damaged disk) kept its symbol
    # unasked for ever (issue 15); the same goes for a negative or NaN stamp.
    negative = NotFoundCache(MemoryNotFoundStore(clock=clock), ttl_s=DAY, clock=clock)
    assert not negative.is_current(row("NOSUCH", clock() + confirmed_at), clock())
    assert not negative.is_current(row("NOSUCH", -5.0), clock())
    assert negative.is_current(row("NOSUCH", clock() + 299), clock())  # clock skew is not


def test_a_ttl_of_zero_reads_and_writes_nothing(clock: FakeClock) -> None:
    store = MemoryNotFoundStore(clock=clock)
    store.set_not_found([row("KEPT", clock())], keep_s=DAY)
    negative = NotFoundCache(store, ttl_s=0, clock=clock)
    negative.remember({"NOSUCH": "yfinance"})
    assert not negative.enabled and negative.read(["KEPT", "NOSUCH"]) == {}
    assert store.get_not_found(["NOSUCH"]) == {}


def test_the_negative_cache_lives_in_a_backend_that_keeps_rows(clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    negative = open_not_found(cache, CacheSettings(), clock=clock)
    assert negative.store is cache and negative.ttl_s == DAY


class EntriesOnly:
    """A backend written before the negative cache: no NotFoundStore methods."""

    def __init__(self) -> None:
        self.inner = MemoryCache()

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_not_found"):
            raise AttributeError(name)
        return getattr(self.inner, name)


def test_a_backend_without_rows_gets_an_in_process_stand_in(clock: FakeClock) -> None:
    negative = open_not_found(EntriesOnly(), CacheSettings(), clock=clock)
    assert isinstance(negative.store, MemoryNotFoundStore)
    negative.remember({"NOSUCH": "yfinance"})
    assert negative.read(["NOSUCH"]).keys() == {"NOSUCH"}
