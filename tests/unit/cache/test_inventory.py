"""The CacheInventory protocol: every built-in backend lists its entries and negative-cache rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from resilient_provider.cache import CacheBackend, CacheEntry, DiskCache, MemoryCache, NotFoundEntry
from resilient_provider.cache.base import cache_key, encode_entry
from resilient_provider.cache.disabled import DisabledCache
from resilient_provider.cache.inventory import CacheInventory, symbol_of_entry_key
from resilient_provider.cache.not_found import NotFoundStore
from resilient_provider.testing import FakeClock


def info(symbol: str, price: float = 101.5) -> dict[str, Any]:
    return {"symbol": symbol, "regularMarketPrice": price, "currency": "USD"}


def inventory(backend: CacheBackend) -> CacheInventory:
    assert isinstance(backend, CacheInventory)
    return backend


def test_every_built_in_backend_is_an_inventory(backend: CacheBackend, tmp_path: Path) -> None:
    assert isinstance(backend, CacheInventory)
    assert isinstance(DisabledCache(tmp_path, "test"), CacheInventory)


def test_entries_lists_every_entry_stored(backend: CacheBackend) -> None:
    backend.set("AAPL", info("AAPL"), fetched_at=100.0, provider="yfinance")
    backend.set_many({"MSFT": CacheEntry(info("MSFT"), 200.0, "yahooquery"),
                      "^GSPC": CacheEntry(info("^GSPC"), 300.0, "yfinance")})
    assert dict(inventory(backend).entries()) == {
        "AAPL": CacheEntry(info("AAPL"), 100.0, "yfinance"),
        "MSFT": CacheEntry(info("MSFT"), 200.0, "yahooquery"),
        "^GSPC": CacheEntry(info("^GSPC"), 300.0, "yfinance"),
    }


def test_entries_and_negative_rows_are_listed_apart(backend: CacheBackend) -> None:
    assert isinstance(backend, NotFoundStore)
    backend.set("AAPL", info("AAPL"), fetched_at=100.0, provider="yfinance")
    backend.set_not_found([NotFoundEntry("DEAD", 150.0, "yfinance")], keep_s=3600)
    assert [s for s, _ in inventory(backend).entries()] == ["AAPL"]
    assert list(inventory(backend).not_found_entries()) == [NotFoundEntry("DEAD", 150.0, "yfinance")]


def test_an_empty_backend_lists_nothing(backend: CacheBackend) -> None:
    assert list(inventory(backend).entries()) == []
    assert list(inventory(backend).not_found_entries()) == []


def test_deleted_and_cleared_entries_are_not_listed(backend: CacheBackend) -> None:
    backend.set("AAPL", info("AAPL"), fetched_at=100.0, provider="p")
    backend.set("MSFT", info("MSFT"), fetched_at=100.0, provider="p")
    backend.delete("AAPL")
    assert [s for s, _ in inventory(backend).entries()] == ["MSFT"]
    backend.clear()
    assert list(inventory(backend).entries()) == []


def test_the_memory_backend_lists_no_entry_past_its_ttl_nor_a_row_past_its_keep() -> None:
    clock = FakeClock(start=10_000.0)
    cache = MemoryCache(ttl_s=100, clock=clock)
    cache.set("OLD", info("OLD"), fetched_at=9_850.0, provider="p")
    cache.set("NEW", info("NEW"), fetched_at=9_990.0, provider="p")
    cache.set_not_found([NotFoundEntry("GONE", 10_000.0, "p")], keep_s=10)
    clock.advance(11)
    assert [s for s, _ in cache.entries()] == ["NEW"]
    assert list(cache.not_found_entries()) == []


def test_the_disabled_backend_lists_nothing(tmp_path: Path) -> None:
    cache = DisabledCache(tmp_path, "cannot open")
    cache.set("AAPL", info("AAPL"), fetched_at=1.0, provider="p")
    assert list(cache.entries()) == [] and list(cache.not_found_entries()) == []


def test_the_disk_backend_lists_rows_still_pending_a_write(disk: DiskCache) -> None:
    # Rows wait in the group commit when the database is locked; a listing must see them.
    disk._writes._pending[cache_key("PEND")] = (encode_entry(CacheEntry(info("PEND"), 5.0, "p")),
                                                None)
    disk.set("AAPL", info("AAPL"), fetched_at=1.0, provider="p")
    assert sorted(s for s, _ in disk.entries()) == ["AAPL", "PEND"]


def test_the_disk_backend_leaves_out_and_drops_an_unreadable_row(
        disk: DiskCache, cache_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    disk.set("AAPL", info("AAPL"), fetched_at=1.0, provider="p")
    disk.set("BAD", info("BAD"), fetched_at=1.0, provider="p")
    with sqlite3.connect(cache_dir / "cache.db") as db:
        db.execute("UPDATE Cache SET value = ? WHERE key = ?", (b"not json", cache_key("BAD")))
    assert [s for s, _ in disk.entries()] == ["AAPL"]
    assert "unreadable" in caplog.text
    assert disk.get("BAD") is None


def test_the_disk_backend_lists_across_read_batches(disk: DiskCache) -> None:
    disk.set_many({f"S{i}": CacheEntry(info(f"S{i}"), float(i), "p") for i in range(1_203)})
    assert len(dict(disk.entries())) == 1_203


def test_the_symbol_of_an_entry_key() -> None:
    assert symbol_of_entry_key(cache_key("BRK-B")) == "BRK-B"
    assert symbol_of_entry_key("rp:v0:info:AAPL") is None
    assert symbol_of_entry_key(cache_key("")) is None
