"""Fleet-wide single-flight: a symbol one worker fetches is waited for by the others; a dead
worker's claim expires and a waiter takes over; Redis down means every worker walks alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from resilient_provider import DataSource, FetchResult, ResilientProvider, Settings
from resilient_provider.cache import MemoryCache
from resilient_provider.providers.protocol import InfoOrError
from resilient_provider.shared.link import RedisLink
from resilient_provider.shared.single_flight import FleetSingleFlight
from resilient_provider.testing import make_info
from tests.redis_server import RedisServer

from .conftest import shared_settings


class CountingProvider:
    """Answers every symbol, after ``gate`` opens (if given); counts the symbols asked."""

    def __init__(self, name: str = "p", gate: threading.Event | None = None,
                 latency_s: float = 0.0) -> None:
        self.name = name
        self.gate = gate
        self.latency_s = latency_s
        self.asked: list[str] = []
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        with self._lock:
            self.asked.extend(symbols)
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.latency_s:
            time.sleep(self.latency_s)  # real time: another worker is waiting on Redis's clock
        return {s: make_info(s) for s in symbols}

    def close(self) -> None:
        pass


def worker(provider: CountingProvider, cache: MemoryCache, url: str, prefix: str,
           **shared: Any) -> ResilientProvider:
    """One worker of a fleet: its own façade, the fleet's cache and Redis."""
    settings = Settings(providers=[], stats={"enabled": False}, deadline_s=10,
                        upstreams={"yahoo": {"enabled": False}},
                        shared=shared_settings(url, prefix, cache="off", budgets=False,
                                               breakers=False, **shared))
    return ResilientProvider([provider], cache=cache, settings=settings)


@pytest.fixture
def cache() -> MemoryCache:
    return MemoryCache()


@pytest.fixture
def pair(redis_server: RedisServer, key_prefix: str, cache: MemoryCache
         ) -> Iterator[tuple[CountingProvider, CountingProvider, ResilientProvider,
                             ResilientProvider]]:
    gate = threading.Event()
    first, second = CountingProvider(gate=gate), CountingProvider()
    one = worker(first, cache, redis_server.unix_url, key_prefix)
    two = worker(second, cache, redis_server.unix_url, key_prefix)
    try:
        yield first, second, one, two
    finally:
        gate.set()
        one.close()
        two.close()


def test_a_symbol_another_worker_fetches_is_waited_for_not_fetched_again(
        pair: tuple[CountingProvider, CountingProvider, ResilientProvider,
                    ResilientProvider]) -> None:
    first, second, one, two = pair
    answers: dict[str, FetchResult] = {}
    leader = threading.Thread(target=lambda: answers.update(one=one.fetch("AAA")))
    leader.start()
    assert first.entered.wait(10)  # the first worker holds AAA's lease, in its provider call
    follower = threading.Thread(target=lambda: answers.update(two=two.fetch("AAA")))
    follower.start()
    time.sleep(0.15)  # real time: the follower polls the lease meanwhile
    assert "two" not in answers
    assert first.gate is not None
    first.gate.set()
    leader.join(10)
    follower.join(10)
    assert answers["one"].source is DataSource.PRIMARY
    assert answers["two"].source is DataSource.CACHE_FRESH
    assert answers["two"].data == answers["one"].data
    assert (first.asked, second.asked) == (["AAA"], [])


def test_a_dead_workers_claim_expires_and_a_waiter_fetches_itself(
        redis_server: RedisServer, key_prefix: str, cache: MemoryCache) -> None:
    dead = FleetSingleFlight(RedisLink(shared_settings(redis_server.unix_url, key_prefix)),
                             lease_s=0.3)
    assert dead.claim(["AAA"]) == (["AAA"], [])
    dead.close()  # it dies holding the lease: no renewal, no release
    provider = CountingProvider()
    alive = worker(provider, cache, redis_server.unix_url, key_prefix, lease_s=0.3)
    try:
        started = time.monotonic()
        result = alive.fetch("AAA")
        waited = time.monotonic() - started
    finally:
        alive.close()
    assert result.source is DataSource.PRIMARY and provider.asked == ["AAA"]
    assert 0.1 < waited < 0.3 + 1.0  # the lease's end, not the deadline


def test_a_live_leaders_lease_is_renewed_past_lease_s(redis_server: RedisServer,
                                                       key_prefix: str) -> None:
    link = RedisLink(shared_settings(redis_server.unix_url, key_prefix))
    leader, other = FleetSingleFlight(link, lease_s=0.3), FleetSingleFlight(link, lease_s=0.3)
    try:
        assert leader.claim(["AAA"]) == (["AAA"], [])
        time.sleep(0.6)  # twice the lease: renewed meanwhile (real time, Redis's clock)
        assert other.claim(["AAA"]) == ([], ["AAA"])
        leader.release(["AAA"])
        assert other.wait(["AAA"], 1.0) == ["AAA"]
        # A done-mark for lease_s: whoever asks meanwhile is sent to the cache...
        assert other.claim(["AAA"]) == ([], ["AAA"])
        time.sleep(0.4)  # real time: ...and then the symbol is anyone's to fetch again
        assert other.claim(["AAA"]) == (["AAA"], [])
    finally:
        leader.close()
        other.close()


def test_a_symbol_fetched_a_moment_ago_by_another_worker_is_served_from_the_cache(
        redis_server: RedisServer, key_prefix: str, cache: MemoryCache) -> None:
    # Overlapping batches reach a symbol at slightly different times: without the done-mark
    # the second worker claimed it after the first had released it, and fetched it again
    # (80 fetches for 60 symbols in two concurrent batches on a loaded machine).
    first, second = CountingProvider(), CountingProvider()
    one = worker(first, cache, redis_server.unix_url, key_prefix)
    two = worker(second, cache, redis_server.unix_url, key_prefix)
    try:
        fetched, served = one.fetch("AAA"), two.fetch("AAA")
    finally:
        one.close()
        two.close()
    assert fetched.source is DataSource.PRIMARY and served.source is DataSource.CACHE_FRESH
    assert (first.asked, second.asked) == (["AAA"], [])


def test_concurrent_batches_of_two_workers_fetch_each_symbol_about_once(
        redis_server: RedisServer, key_prefix: str, cache: MemoryCache) -> None:
    symbols = [f"S{i:03d}" for i in range(60)]
    providers = [CountingProvider(latency_s=0.01), CountingProvider(latency_s=0.01)]
    workers = [worker(p, cache, redis_server.unix_url, key_prefix) for p in providers]
    results: list[dict[str, FetchResult]] = [{}, {}]
    try:
        threads = [threading.Thread(target=lambda i=i: results[i].update(
            workers[i].batch_fetch(symbols, progress=False))) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for one in workers:
            one.close()
    asked = providers[0].asked + providers[1].asked
    assert all(r.source is not DataSource.ERROR for part in results for r in part.values())
    assert len(results[0]) == len(results[1]) == len(symbols)
    assert len(asked) <= 1.05 * len(symbols)
    assert max(asked.count(s) for s in symbols) <= 2


def test_with_redis_down_every_worker_fetches_alone(own_redis: RedisServer, key_prefix: str,
                                                    cache: MemoryCache) -> None:
    provider = CountingProvider()
    one = worker(provider, cache, own_redis.url, key_prefix)
    own_redis.kill()
    try:
        started = time.monotonic()
        result = one.fetch("AAA")
        assert time.monotonic() - started < 1.0
    finally:
        one.close()
    assert result.source is DataSource.PRIMARY and provider.asked == ["AAA"]


def test_when_a_dead_workers_claim_expires_one_waiter_takes_over_not_all(
        redis_server: RedisServer, key_prefix: str, cache: MemoryCache) -> None:
    dead = FleetSingleFlight(RedisLink(shared_settings(redis_server.unix_url, key_prefix)),
                             lease_s=0.3)
    assert dead.claim(["AAA"]) == (["AAA"], [])
    dead.close()  # dies holding the lease
    providers = [CountingProvider(latency_s=0.05) for _ in range(3)]
    workers = [worker(p, cache, redis_server.unix_url, key_prefix, lease_s=0.3)
               for p in providers]
    answers: list[FetchResult] = []
    try:
        threads = [threading.Thread(target=lambda w=w: answers.append(w.fetch("AAA")))
                   for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    finally:
        for one in workers:
            one.close()
    assert len(answers) == 3 and all(a.source is not DataSource.ERROR for a in answers)
    assert sum(len(p.asked) for p in providers) == 1  # 3 before the claim was taken again


def _lease_gone(url_socket: str, prefix: str, symbol: str) -> None:
    """Wait (real time, on Redis's clock) until ``symbol``'s lease and done-mark are gone."""
    import redis as redis_py

    client = redis_py.Redis(unix_socket_path=url_socket, socket_timeout=2)
    try:
        give_up = time.monotonic() + 5
        while client.exists(f"{prefix}:lease:{symbol}") and time.monotonic() < give_up:
            time.sleep(0.02)
        assert not client.exists(f"{prefix}:lease:{symbol}")
    finally:
        client.close()


@pytest.fixture
def short_leases(redis_server: RedisServer, key_prefix: str, cache: MemoryCache
                 ) -> Iterator[tuple[CountingProvider, CountingProvider, ResilientProvider,
                                     ResilientProvider]]:
    """Two workers whose leases (and done-marks) last 0.2 s."""
    first, second = CountingProvider(), CountingProvider()
    one = worker(first, cache, redis_server.unix_url, key_prefix, lease_s=0.2)
    two = worker(second, cache, redis_server.unix_url, key_prefix, lease_s=0.2)
    try:
        yield first, second, one, two
    finally:
        one.close()
        two.close()


def test_a_symbol_claimed_after_another_worker_fetched_it_is_served_not_fetched_again(
        redis_server: RedisServer, key_prefix: str,
        short_leases: tuple[CountingProvider, CountingProvider, ResilientProvider,
                            ResilientProvider]) -> None:
    # A batch reads the cache up front and its chunks claim their symbols later: with a worker
    # killed holding leases, survivors' queued chunks claimed symbols whose done-mark was
    # gone and fetched them again (1.44 calls per symbol). A claim now looks once more.
    first, second, one, two = short_leases
    asked_at = two._cascade.clock()  # the batch's up-front read: AAA not cached yet
    assert one.fetch("AAA").source is DataSource.PRIMARY
    _lease_gone(str(redis_server.socket_path), key_prefix, "AAA")
    walked = two._engine._walk(asked_at)(["AAA"])  # the chunk's walk, later
    assert walked["AAA"].source is DataSource.CACHE_FRESH
    assert (first.asked, second.asked) == (["AAA"], [])


def test_an_entry_fetched_before_the_request_was_asked_is_not_served_by_the_second_look(
        redis_server: RedisServer, key_prefix: str,
        short_leases: tuple[CountingProvider, CountingProvider, ResilientProvider,
                            ResilientProvider]) -> None:
    # A refresh request bypasses the cache: the second look after a claim must not hand it
    # what was cached before it asked.
    first, second, one, two = short_leases
    assert one.fetch("AAA").source is DataSource.PRIMARY
    _lease_gone(str(redis_server.socket_path), key_prefix, "AAA")
    refreshed = two.fetch("AAA", refresh=True)
    assert refreshed.source is DataSource.PRIMARY
    assert (first.asked, second.asked) == (["AAA"], ["AAA"])
