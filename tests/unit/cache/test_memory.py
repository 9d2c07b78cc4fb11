"""The in-memory backend: ttl on an injected clock (the shared ``clock`` fixture), JSON storage."""

from __future__ import annotations

import tracemalloc

import orjson
import pytest

from resilient_provider.cache import CacheEntry, MemoryCache, cache_key
from resilient_provider.cache.base import encode_entry
from resilient_provider.testing import FakeClock

DAY_S = 86400.0


@pytest.fixture
def cache(clock: FakeClock) -> MemoryCache:
    return MemoryCache(ttl_s=7 * DAY_S, clock=clock)


def test_entry_within_ttl_is_returned(cache: MemoryCache, clock: FakeClock) -> None:
    cache.set("AAPL", {"p": 1}, fetched_at=clock(), provider="one")
    clock.advance(7 * DAY_S)  # exactly ttl_s old: still kept
    assert cache.get("AAPL") is not None


def test_entry_older_than_ttl_is_not_returned(cache: MemoryCache, clock: FakeClock) -> None:
    cache.set("AAPL", {"p": 1}, fetched_at=clock(), provider="one")
    clock.advance(7 * DAY_S + 1)
    assert cache.get("AAPL") is None


def test_ttl_counts_from_fetched_at_not_from_the_write(cache: MemoryCache, clock: FakeClock) -> None:
    cache.set("AAPL", {"p": 1}, fetched_at=clock() - 8 * DAY_S, provider="one")
    assert cache.get("AAPL") is None


def test_get_many_leaves_out_entries_older_than_ttl(cache: MemoryCache, clock: FakeClock) -> None:
    cache.set("OLD", {"p": 1}, fetched_at=clock(), provider="one")
    clock.advance(5 * DAY_S)
    cache.set("NEW", {"p": 2}, fetched_at=clock(), provider="one")
    clock.advance(3 * DAY_S)
    assert set(cache.get_many(["OLD", "NEW"])) == {"NEW"}


def test_prune_also_removes_entries_older_than_ttl(cache: MemoryCache, clock: FakeClock) -> None:
    cache.set("OLD", {"p": 1}, fetched_at=clock(), provider="one")
    clock.advance(8 * DAY_S)
    cache.set("NEW", {"p": 2}, fetched_at=clock(), provider="one")
    assert cache.prune(older_than=0.0) == 1
    assert set(cache.get_many(["OLD", "NEW"])) == {"NEW"}


def test_without_ttl_entries_are_kept_however_old(clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    cache.set("AAPL", {"p": 1}, fetched_at=clock(), provider="one")
    clock.advance(10 * 365 * DAY_S)
    assert cache.get("AAPL") is not None


def test_negative_ttl_is_rejected() -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        MemoryCache(ttl_s=-1)


def test_entries_are_stored_as_json_bytes(cache: MemoryCache, clock: FakeClock) -> None:
    cache.set("AAPL", {"p": (1, 2)}, fetched_at=clock(), provider="one")
    _, raw = cache._rows[cache_key("AAPL")]
    assert isinstance(raw, bytes)
    assert orjson.loads(raw)["data"] == {"p": [1, 2]}


def test_set_many_stores_nothing_when_one_entry_cannot_be_encoded(cache: MemoryCache) -> None:
    good = CacheEntry({"p": 1}, 1.0, "one")
    bad = CacheEntry({"p": object()}, 1.0, "one")
    with pytest.raises(TypeError):
        cache.set_many({"GOOD": good, "BAD": bad})
    assert cache.get_many(["GOOD", "BAD"]) == {}


def test_repr_shows_size_and_ttl(cache: MemoryCache, clock: FakeClock) -> None:
    cache.set("AAPL", {"p": 1}, fetched_at=clock(), provider="one")
    assert repr(cache) == "MemoryCache(entries=1, ttl_s=604800.0)"


def test_empty_cache_is_truthy(cache: MemoryCache) -> None:
    # `cache or MemoryCache()` must keep a caller's empty cache, not swap in a new one.
    assert bool(cache) is True


def test_entries_stay_readable_after_close(cache: MemoryCache, clock: FakeClock) -> None:
    cache.set("AAPL", {"p": 1}, fetched_at=clock(), provider="one")
    cache.close()
    assert cache.get("AAPL") is not None


def test_a_held_entry_takes_the_size_of_its_json_not_the_encoders_buffer(
        cache: MemoryCache, clock: FakeClock) -> None:
    # orjson's output keeps its grown write buffer (64 KiB for a few KiB of JSON) unless copied.
    info = {f"field{i:03d}": f"text {i}" if i % 2 else i * 1.5 for i in range(150)}
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(50):
            cache.set(f"S{index}", info, fetched_at=clock(), provider="one")
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    json_size = len(encode_entry(CacheEntry(info, clock(), "one")))
    assert held < 50 * json_size * 1.5, (held, json_size)
