"""Listing, pruning and clearing the shared cache (RedisCache) and the tier (TieredCache) on a
private redis-server: SCAN never KEYS, only this prefix's rows, every key's TTL kept."""

from __future__ import annotations

from typing import Any

import pytest

from resilient_provider.cache import CacheEntry, MemoryCache, NotFoundEntry
from resilient_provider.cache.base import cache_key
from resilient_provider.cache.inventory import CacheInventory
from resilient_provider.cache_tools import CacheTools
from resilient_provider.config import CacheSettings
from resilient_provider.shared.cache import RedisCache
from resilient_provider.shared.link import RedisLink
from resilient_provider.shared.tiered_cache import TieredCache
from resilient_provider.testing import FakeClock
from tests.redis_server import RedisServer

from .conftest import shared_settings

NOW = 1_767_225_600.0


def entry(symbol: str, fetched_at: float = NOW - 60) -> CacheEntry:
    return CacheEntry({"symbol": symbol, "regularMarketPrice": 101.5}, fetched_at, "yfinance")


def ttls(client: Any, prefix: str) -> dict[bytes, int]:
    return {key: client.pttl(key) for key in client.scan_iter(match=f"{prefix}:*", count=1000)}


def test_the_redis_cache_lists_its_entries_and_negative_rows(link: RedisLink) -> None:
    cache = RedisCache(link, ttl_s=3600)
    assert isinstance(cache, CacheInventory)
    cache.set_many({"AAPL": entry("AAPL"), "BRK-B": entry("BRK-B", NOW - 5)})
    cache.set_not_found([NotFoundEntry("DEAD", NOW, "yfinance")], keep_s=600)
    assert dict(cache.entries()) == {"AAPL": entry("AAPL"), "BRK-B": entry("BRK-B", NOW - 5)}
    assert list(cache.not_found_entries()) == [NotFoundEntry("DEAD", NOW, "yfinance")]


def test_listing_sends_no_keys_and_leaves_every_ttl(own_redis: RedisServer,
                                                    key_prefix: str) -> None:
    # A server of its own: thousands of keys on the shared one would slow the others' SCANs.
    link = RedisLink(shared_settings(own_redis.unix_url, key_prefix))
    client = own_redis.client()
    try:
        cache = RedisCache(link, ttl_s=3600)
        cache.set_many({f"S{i}": entry(f"S{i}") for i in range(2_500)})  # several SCAN steps
        before = ttls(client, key_prefix)
        assert len(dict(cache.entries())) == 2_500
        after = ttls(client, key_prefix)
        assert after.keys() == before.keys()
        assert all(0 < after[k] <= before[k] for k in before)  # counting down, never reset
        assert "keys" not in own_redis.command_stats()
    finally:
        client.close()
        link.close()


def test_listing_leaves_out_other_prefixes_and_garbage(
        link: RedisLink, client: Any, key_prefix: str) -> None:
    cache = RedisCache(link, ttl_s=3600)
    cache.set_many({"AAPL": entry("AAPL")})
    client.set(f"{key_prefix}:{cache_key('JUNK')}", b"not json", px=60_000)
    client.set(f"other{key_prefix}:{cache_key('MSFT')}", b"{}", px=60_000)
    assert [s for s, _ in cache.entries()] == ["AAPL"]


def test_prune_and_clear_through_the_cache_tools_keep_the_other_keys_ttls(
        link: RedisLink, client: Any, key_prefix: str) -> None:
    clock = FakeClock(start=NOW)
    cache = RedisCache(link, ttl_s=30 * 86400)
    cache.set_many({"OLD": entry("OLD", NOW - 10 * 86400), "NEW": entry("NEW", NOW - 60)})
    tools = CacheTools(cache, CacheSettings(), clock=clock)
    assert tools.prune("7d") == 1
    assert [r.symbol for r in tools.records()] == ["NEW"]
    assert all(ttl > 0 for ttl in ttls(client, key_prefix).values())
    assert tools.clear().entries == 1
    assert ttls(client, key_prefix) == {}


def test_the_tier_lists_both_tiers_the_newer_entry_winning(link: RedisLink) -> None:
    local = MemoryCache()
    shared = RedisCache(link, ttl_s=3600)
    tier = TieredCache(local, shared, clock=FakeClock(start=NOW), spawn=lambda replay: replay())
    local.set_many({"AAPL": entry("AAPL", NOW - 100), "LOCAL": entry("LOCAL")})
    shared.set_many({"AAPL": entry("AAPL", NOW - 10), "FLEET": entry("FLEET")})
    shared.set_not_found([NotFoundEntry("DEAD", NOW, "yfinance")], keep_s=600)
    listed = dict(tier.entries())
    assert sorted(listed) == ["AAPL", "FLEET", "LOCAL"]
    assert listed["AAPL"].fetched_at == NOW - 10
    assert [r.symbol for r in tier.not_found_entries()] == ["DEAD"]


def test_the_tier_lists_the_local_cache_alone_while_redis_is_down(
        own_redis: RedisServer, key_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    link = RedisLink(shared_settings(own_redis.unix_url, key_prefix))
    local = MemoryCache()
    tier = TieredCache(local, RedisCache(link, ttl_s=3600), clock=FakeClock(start=NOW),
                       spawn=lambda replay: replay())
    tier.set_many({"AAPL": entry("AAPL")})
    own_redis.kill()
    try:
        assert [s for s, _ in tier.entries()] == ["AAPL"]
        assert "listing the local cache only" in caplog.text
    finally:
        link.close()
