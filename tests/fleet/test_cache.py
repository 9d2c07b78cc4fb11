"""The shared cache on a private redis-server: RedisCache's rows, TTLs and keys, and the tier's
fallback to the local cache while Redis is down and its replay when Redis is back."""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from typing import Any

import pytest

from resilient_provider.cache import CacheEntry, MemoryCache, NotFoundEntry, NotFoundStore
from resilient_provider.cache.base import cache_key, encode_entry, not_found_key
from resilient_provider.cache.disabled import DisabledCache
from resilient_provider.shared.cache import RedisCache
from resilient_provider.shared.link import RedisDown, RedisLink
from resilient_provider.shared.tiered_cache import TieredCache
from resilient_provider.testing import FakeClock
from tests.redis_server import RedisServer

from .conftest import shared_settings

TTL_S = 3600.0
NOW = 1_767_225_600.0  # epoch of the tier's clock


def entry(symbol: str, fetched_at: float = NOW - 60, provider: str = "yfinance") -> CacheEntry:
    return CacheEntry({"symbol": symbol, "regularMarketPrice": 101.5}, fetched_at, provider)


def our_keys(client: Any, prefix: str) -> list[bytes]:
    return list(client.scan_iter(match=f"{prefix}:*", count=1000))


def assert_every_key_has_a_ttl(client: Any, prefix: str) -> None:
    keys = our_keys(client, prefix)
    assert keys
    assert all(client.pttl(key) > 0 for key in keys)


@pytest.fixture
def cache(link: RedisLink) -> RedisCache:
    return RedisCache(link, ttl_s=TTL_S)


def run_now(replay: Callable[[], None]) -> None:
    replay()


# --- RedisCache --------------------------------------------------------------------------------


def test_an_entry_is_stored_as_the_local_backends_json_under_the_prefix(
        cache: RedisCache, client: Any, key_prefix: str) -> None:
    cache.set_many({"AAPL": entry("AAPL")})
    assert client.get(f"{key_prefix}:{cache_key('AAPL')}") == encode_entry(entry("AAPL"))
    assert cache.get("AAPL") == entry("AAPL")


def test_every_key_written_has_the_ttl_of_the_max_stale_age(
        cache: RedisCache, client: Any, key_prefix: str) -> None:
    cache.set_many({"A": entry("A"), "B": entry("B")})
    cache.set("C", {"x": 1}, fetched_at=NOW, provider="p")
    cache.set_not_found([NotFoundEntry("ZZZZ", NOW, "p")], keep_s=60)
    assert_every_key_has_a_ttl(client, key_prefix)
    assert 0 < client.pttl(f"{key_prefix}:{cache_key('A')}") <= TTL_S * 1000
    assert 0 < client.pttl(f"{key_prefix}:{not_found_key('ZZZZ')}") <= 60_000


def test_get_many_answers_in_the_order_asked_across_slices(link: RedisLink) -> None:
    cache = RedisCache(link, ttl_s=TTL_S, read_slice=3)
    symbols = [f"S{i}" for i in range(10)]
    cache.set_many({s: entry(s) for s in symbols})
    asked = [*reversed(symbols), "MISSING", "S3"]
    found = cache.get_many(asked)
    assert list(found) == list(reversed(symbols))
    assert found == {s: entry(s) for s in symbols}


def test_delete_removes_one_entry_and_says_whether_there_was_one(cache: RedisCache) -> None:
    cache.set_many({"A": entry("A"), "B": entry("B")})
    assert cache.delete("A") is True
    assert cache.delete("A") is False
    assert set(cache.get_many(["A", "B"])) == {"B"}


def test_clear_removes_our_cache_rows_and_nothing_else(
        cache: RedisCache, client: Any, key_prefix: str) -> None:
    cache.set_many({"A": entry("A")})
    cache.set_not_found([NotFoundEntry("ZZZZ", NOW, "p")], keep_s=60)
    client.set(f"{key_prefix}:rp:v0:info:A", b"an older schema", px=60_000)
    kept = [f"{key_prefix}:lease:A", f"{key_prefix}:breaker:yfinance",
            f"{key_prefix}x:{cache_key('A')}", f"other:{key_prefix}:{cache_key('A')}"]
    for key in kept:
        client.set(key, b"not the cache's", px=60_000)
    try:
        cache.clear()
        assert cache.get("A") is None and cache.get_not_found(["ZZZZ"]) == {}
        assert sorted(our_keys(client, key_prefix)) == sorted(
            k.encode() for k in kept if k.startswith(f"{key_prefix}:"))
        assert all(client.exists(key) for key in kept)
    finally:
        client.delete(*kept)


def test_prune_removes_old_and_unreadable_rows_and_counts_them(
        cache: RedisCache, client: Any, key_prefix: str) -> None:
    cache.set_many({"OLD": entry("OLD", 100.0), "NEW": entry("NEW", 200.0),
                    "EDGE": entry("EDGE", 150.0)})
    cache.set_not_found([NotFoundEntry("GONE", 100.0, "p"), NotFoundEntry("DEAD", 200.0, "p")],
                        keep_s=60)
    client.set(f"{key_prefix}:{cache_key('BAD')}", b"garbage", px=60_000)
    assert cache.prune(older_than=150.0) == 3
    assert set(cache.get_many(["OLD", "NEW", "EDGE", "BAD"])) == {"NEW", "EDGE"}
    assert set(cache.get_not_found(["GONE", "DEAD"])) == {"DEAD"}


def test_an_undecodable_row_is_absent_and_deleted(
        cache: RedisCache, client: Any, key_prefix: str,
        caplog: pytest.LogCaptureFixture) -> None:
    key = f"{key_prefix}:{cache_key('AAPL')}"
    client.set(key, b'{"v": 1, "data": "not a dict"}', px=60_000)
    cache.set_many({"MSFT": entry("MSFT")})
    assert cache.get_many(["AAPL", "MSFT"]) == {"MSFT": entry("MSFT")}
    assert not client.exists(key)
    assert "unreadable" in caplog.text


unpickled: list[str] = []


def _record(what: str) -> str:
    unpickled.append(what)
    return what


class Bomb:
    """Runs ``_record`` when unpickled: proof that something unpickled it."""

    def __reduce__(self) -> tuple[Callable[[str], str], tuple[str]]:
        return _record, ("unpickled",)


def test_a_pickle_planted_at_a_key_is_never_unpickled(
        cache: RedisCache, client: Any, key_prefix: str) -> None:
    unpickled.clear()
    for key in (cache_key("AAPL"), not_found_key("AAPL")):
        client.set(f"{key_prefix}:{key}", pickle.dumps(Bomb()), px=60_000)
    assert cache.get("AAPL") is None
    assert cache.get_not_found(["AAPL"]) == {}
    assert cache.prune(older_than=0.0) == 0  # both already deleted when read
    assert unpickled == []
    assert our_keys(client, key_prefix) == []


def test_a_negative_row_under_another_symbols_key_is_not_returned(
        cache: RedisCache, client: Any, key_prefix: str) -> None:
    cache.set_not_found([NotFoundEntry("ZZZZ", NOW, "p")], keep_s=60)
    client.rename(f"{key_prefix}:{not_found_key('ZZZZ')}", f"{key_prefix}:{not_found_key('Y')}")
    assert cache.get_not_found(["Y"]) == {}


def test_negative_rows_round_trip_apart_from_entries(cache: RedisCache) -> None:
    cache.set_not_found([NotFoundEntry("ZZZZ", NOW, "p")], keep_s=60)
    assert cache.get_not_found(["ZZZZ", "A"]) == {"ZZZZ": NotFoundEntry("ZZZZ", NOW, "p")}
    assert cache.get("ZZZZ") is None
    cache.delete_not_found(["ZZZZ"])
    assert cache.get_not_found(["ZZZZ"]) == {}


def test_a_replay_overwrites_nothing_newer(cache: RedisCache, client: Any,
                                           key_prefix: str) -> None:
    cache.set_many({"NEWER": entry("NEWER", NOW), "SAME": entry("SAME", NOW - 60),
                    "OLDER": entry("OLDER", NOW - 3600)})
    client.set(f"{key_prefix}:{cache_key('BAD')}", b"garbage", px=60_000)
    replayed = {s: entry(s, NOW - 60) for s in ("NEWER", "SAME", "OLDER", "BAD", "NEW")}
    assert cache.set_many_unless_newer(replayed) == 3
    assert cache.get_many(list(replayed)) == {
        "NEWER": entry("NEWER", NOW), "SAME": entry("SAME", NOW - 60),
        "OLDER": entry("OLDER", NOW - 60), "BAD": entry("BAD", NOW - 60),
        "NEW": entry("NEW", NOW - 60)}
    assert_every_key_has_a_ttl(client, key_prefix)


def test_redis_cache_raises_redis_down_quickly_when_redis_is_gone(
        own_redis: RedisServer, key_prefix: str) -> None:
    link = RedisLink(shared_settings(own_redis.unix_url, key_prefix))
    cache = RedisCache(link, ttl_s=TTL_S)
    cache.set_many({"A": entry("A")})
    own_redis.kill()
    started = time.monotonic()
    for operation in (lambda: cache.get_many(["A"]), lambda: cache.set_many({"A": entry("A")}),
                      lambda: cache.delete("A")):
        with pytest.raises(RedisDown):
            operation()
    assert time.monotonic() - started < 0.5
    link.close()


def test_the_repr_shows_no_password(key_prefix: str) -> None:
    link = RedisLink(shared_settings("redis://:hunter2secret@127.0.0.1:1/0", key_prefix))
    assert "hunter2secret" not in repr(RedisCache(link))


# --- TieredCache -------------------------------------------------------------------------------


@pytest.fixture
def local() -> MemoryCache:
    return MemoryCache(clock=FakeClock(NOW))


def test_writes_go_to_both_tiers(cache: RedisCache, local: MemoryCache) -> None:
    tier = TieredCache(local, cache, clock=FakeClock(NOW))
    tier.set_many({"A": entry("A")})
    tier.set("B", {"symbol": "B"}, fetched_at=NOW, provider="p")
    assert set(local.get_many(["A", "B"])) == set(cache.get_many(["A", "B"])) == {"A", "B"}


def test_reads_are_local_first(cache: RedisCache, local: MemoryCache) -> None:
    local.set_many({"A": entry("A", NOW - 60, "local")})
    cache.set_many({"A": entry("A", NOW, "redis")})
    tier = TieredCache(local, cache, clock=FakeClock(NOW))
    assert tier.get("A") == entry("A", NOW - 60, "local")


def test_misses_are_read_from_redis_and_copied_into_the_local_cache(
        cache: RedisCache, local: MemoryCache) -> None:
    local.set_many({"A": entry("A")})
    cache.set_many({"B": entry("B"), "C": entry("C")})
    tier = TieredCache(local, cache, clock=FakeClock(NOW))
    assert list(tier.get_many(["C", "A", "B", "D"])) == ["C", "A", "B"]
    assert set(local.get_many(["B", "C"])) == {"B", "C"}


def test_an_old_local_entry_gives_way_to_a_newer_one_in_redis(
        cache: RedisCache, local: MemoryCache) -> None:
    local.set_many({"OLD": entry("OLD", NOW - 7200), "KEPT": entry("KEPT", NOW - 7200)})
    cache.set_many({"OLD": entry("OLD", NOW - 10, "other worker"),
                    "KEPT": entry("KEPT", NOW - 9000, "other worker")})
    tier = TieredCache(local, cache, recheck_after_s=3600, clock=FakeClock(NOW))
    assert tier.get_many(["OLD", "KEPT"]) == {"OLD": entry("OLD", NOW - 10, "other worker"),
                                              "KEPT": entry("KEPT", NOW - 7200)}
    assert local.get("OLD") == entry("OLD", NOW - 10, "other worker")


def test_the_tier_is_a_not_found_store_sharing_rows_through_redis(
        cache: RedisCache, local: MemoryCache) -> None:
    tier = TieredCache(local, cache, clock=FakeClock(NOW))
    assert isinstance(tier, NotFoundStore)
    tier.set_not_found([NotFoundEntry("ZZZZ", NOW, "p")], keep_s=60)
    assert set(local.get_not_found(["ZZZZ"])) == set(cache.get_not_found(["ZZZZ"])) == {"ZZZZ"}
    cache.set_not_found([NotFoundEntry("YYYY", NOW, "other worker")], keep_s=60)
    assert set(tier.get_not_found(["ZZZZ", "YYYY", "A"])) == {"ZZZZ", "YYYY"}
    tier.delete_not_found(["ZZZZ", "YYYY"])
    assert tier.get_not_found(["ZZZZ", "YYYY"]) == {}


def test_over_a_local_cache_without_negative_rows_the_tier_keeps_them_in_memory(
        tmp_path: Any, cache: RedisCache) -> None:
    tier = TieredCache(DisabledCache(tmp_path, "test"), cache, clock=FakeClock(NOW))
    tier.set_not_found([NotFoundEntry("ZZZZ", NOW, "p")], keep_s=60)
    cache.delete_not_found(["ZZZZ"])
    assert set(tier.get_not_found(["ZZZZ"])) == {"ZZZZ"}


def test_clear_and_prune_cover_both_tiers(cache: RedisCache, local: MemoryCache) -> None:
    tier = TieredCache(local, cache, clock=FakeClock(NOW))
    tier.set_many({"OLD": entry("OLD", 100.0), "NEW": entry("NEW", 200.0)})
    assert tier.prune(older_than=150.0) == 1
    assert set(local.get_many(["OLD", "NEW"])) == set(cache.get_many(["OLD", "NEW"])) == {"NEW"}
    tier.clear()
    assert local.get("NEW") is None and cache.get("NEW") is None


def down_tier(own_redis: RedisServer, key_prefix: str, local: MemoryCache, *,
              retry_down_s: float = 5.0, clock: FakeClock | None = None,
              max_pending: int = 10_000) -> TieredCache:
    """A tier over ``own_redis``, holding A in both tiers, and then Redis SIGKILLed."""
    link = RedisLink(shared_settings(own_redis.unix_url, key_prefix, retry_down_s=retry_down_s),
                     **({"clock": clock} if clock is not None else {}))
    tier = TieredCache(local, RedisCache(link, ttl_s=TTL_S), clock=FakeClock(NOW),
                       max_pending=max_pending, spawn=run_now)
    tier.set_many({"A": entry("A")})
    own_redis.kill()
    return tier


def test_with_redis_killed_the_tier_answers_from_the_local_cache(
        own_redis: RedisServer, key_prefix: str, local: MemoryCache) -> None:
    tier = down_tier(own_redis, key_prefix, local)
    started = time.monotonic()
    tier.set_many({"B": entry("B")})
    assert tier.get_many(["A", "B", "C"]) == {"A": entry("A"), "B": entry("B")}
    assert tier.delete("B") is True
    tier.set_not_found([NotFoundEntry("ZZZZ", NOW, "p")], keep_s=60)
    assert set(tier.get_not_found(["ZZZZ"])) == {"ZZZZ"}
    tier.delete_not_found(["ZZZZ"])
    assert time.monotonic() - started < 0.5
    with pytest.raises(RedisDown):  # the shared part of a clear cannot be done: say so
        tier.clear()
    tier.close()


def test_on_redis_return_entries_written_meanwhile_are_replayed_none_newer_overwritten(
        own_redis: RedisServer, key_prefix: str, local: MemoryCache) -> None:
    clock = FakeClock(start=0.0)
    tier = down_tier(own_redis, key_prefix, local, clock=clock)
    tier.set_many({"B": entry("B", NOW - 30), "C": entry("C", NOW - 30)})
    assert tier.pending == 2
    own_redis.start()
    client = own_redis.client()
    newer = entry("C", NOW - 5, "another worker")
    client.set(f"{key_prefix}:{cache_key('C')}", encode_entry(newer), px=60_000)
    clock.advance(5)  # retry_down_s: the next operation tries Redis again
    tier.get_many(["X"])  # answered by Redis: the link reconciles, the tier replays
    assert tier.pending == 0
    assert tier.shared.get_many(["B", "C"]) == {"B": entry("B", NOW - 30), "C": newer}
    assert_every_key_has_a_ttl(client, key_prefix)
    client.close()
    tier.close()


def test_a_replay_runs_in_its_own_thread_within_a_second_of_redis_return(
        own_redis: RedisServer, key_prefix: str, local: MemoryCache) -> None:
    link = RedisLink(shared_settings(own_redis.unix_url, key_prefix, retry_down_s=0.2))
    tier = TieredCache(local, RedisCache(link, ttl_s=TTL_S), clock=FakeClock(NOW))
    own_redis.kill()
    tier.set_many({"B": entry("B")})
    own_redis.start()
    deadline = time.monotonic() + 0.2 + 1.0
    found: dict[str, CacheEntry] = {}
    while not found and time.monotonic() < deadline:
        tier.get_many(["X"])  # any operation, once retry_down_s is over, finds Redis back
        found = tier.shared.get_many(["B"]) if link.up else {}
        time.sleep(0.02)  # real time: a replay thread and a down mark of 0.2 s
    assert found == {"B": entry("B")}
    tier.close()


def test_symbols_written_while_down_are_bounded_the_latest_kept(
        own_redis: RedisServer, key_prefix: str, local: MemoryCache,
        caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(start=0.0)
    tier = down_tier(own_redis, key_prefix, local, clock=clock, max_pending=3)
    for symbol in ["B", "C", "D", "E", "F"]:
        tier.set_many({symbol: entry(symbol)})
    assert tier.pending == 3
    own_redis.start()
    clock.advance(5)
    caplog.set_level(logging.WARNING)
    tier.get_many(["X"])
    assert set(tier.shared.get_many(["B", "C", "D", "E", "F"])) == {"D", "E", "F"}
    assert "2 more cache entries were written while Redis was down" in caplog.text
    tier.close()


def test_a_replay_that_meets_redis_down_again_keeps_its_symbols(
        own_redis: RedisServer, key_prefix: str, local: MemoryCache) -> None:
    tier = down_tier(own_redis, key_prefix, local)
    tier.set_many({"B": entry("B")})
    tier._start_replay()  # the link would call it on return; Redis is still down
    assert tier.pending == 1
    tier.close()
