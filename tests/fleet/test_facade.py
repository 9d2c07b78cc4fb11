"""Fleet mode through the façade as users turn it on: one setting, workers with caches of
their own on separate disks, sharing what Redis holds."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from resilient_provider import DataSource, FetchResult, ResilientProvider, Settings
from resilient_provider.errors import ServerError
from resilient_provider.shared.budget import SharedUpstreamBudget
from resilient_provider.shared.tiered_cache import TieredCache
from resilient_provider.testing import FakeYahooServer, ScriptedProvider
from tests.redis_server import RedisServer

from .conftest import shared_settings
from .test_single_flight import CountingProvider


def worker(provider: CountingProvider, directory: Path, url: str, prefix: str,
           **shared: object) -> ResilientProvider:
    settings = Settings(providers=[], stats={"enabled": False}, deadline_s=10,
                        cache={"backend": "disk", "path": str(directory), "read_through": True},
                        upstreams={"yahoo": {"enabled": False}},
                        shared=shared_settings(url, prefix, budgets=False, breakers=False,
                                               **shared))
    return ResilientProvider([provider], settings=settings)


def test_a_worker_reads_what_another_worker_on_another_disk_fetched(
        redis_server: RedisServer, key_prefix: str, tmp_path: Path) -> None:
    first, second = CountingProvider(), CountingProvider()
    one = worker(first, tmp_path / "a", redis_server.unix_url, key_prefix)
    two = worker(second, tmp_path / "b", redis_server.unix_url, key_prefix)
    try:
        assert isinstance(one.cache, TieredCache)
        fetched = one.fetch("AAA")
        served = two.fetch("AAA")
    finally:
        one.close()
        two.close()
    assert fetched.source is DataSource.PRIMARY
    assert served.source is DataSource.CACHE_FRESH and served.data == fetched.data
    assert (first.asked, second.asked) == (["AAA"], [])


def test_a_symbol_in_flight_at_one_worker_is_served_to_another_from_redis(
        redis_server: RedisServer, key_prefix: str, tmp_path: Path) -> None:
    gate = threading.Event()
    first, second = CountingProvider(gate=gate), CountingProvider()
    one = worker(first, tmp_path / "a", redis_server.unix_url, key_prefix)
    two = worker(second, tmp_path / "b", redis_server.unix_url, key_prefix)
    answers: dict[str, FetchResult] = {}
    try:
        leader = threading.Thread(target=lambda: answers.update(one=one.fetch("BBB")))
        leader.start()
        assert first.entered.wait(10)
        follower = threading.Thread(target=lambda: answers.update(two=two.fetch("BBB")))
        follower.start()
        gate.set()
        leader.join(10)
        follower.join(10)
    finally:
        gate.set()
        one.close()
        two.close()
    assert answers["two"].source is DataSource.CACHE_FRESH
    assert (first.asked, second.asked) == (["BBB"], [])


def test_fleet_mode_off_changes_nothing(tmp_path: Path) -> None:
    settings = Settings(providers=[], stats={"enabled": False},
                        cache={"backend": "disk", "path": str(tmp_path)})
    with ResilientProvider([CountingProvider()], settings=settings) as facade:
        assert facade.fleet is None and not isinstance(facade.cache, TieredCache)


def test_a_breaker_opened_by_one_worker_is_open_for_another(
        redis_server: RedisServer, key_prefix: str, tmp_path: Path) -> None:
    down = ServerError("HTTP 503")

    def failing_worker(directory: Path) -> tuple[ScriptedProvider, ResilientProvider]:
        provider = ScriptedProvider("p", default=down)
        settings = Settings(
            providers=[], stats={"enabled": False}, deadline_s=5,
            provider_defaults={"retry": {"max_attempts": 1},
                               "breaker": {"failure_threshold": 3, "reset_timeout_s": 60}},
            cache={"backend": "disk", "path": str(directory)},
            upstreams={"yahoo": {"enabled": False}},
            shared=shared_settings(redis_server.unix_url, key_prefix, budgets=False))
        return provider, ResilientProvider([provider], settings=settings)

    (first, one), (second, two) = failing_worker(tmp_path / "a"), failing_worker(tmp_path / "b")
    try:
        for symbol in ("A", "B", "C"):
            assert one.fetch(symbol).source is DataSource.ERROR
        answer = two.fetch("D")
    finally:
        one.close()
        two.close()
    assert len(first.calls) == 3 and second.calls == []  # open for the second worker too
    assert answer.source is DataSource.ERROR
    assert answer.attempts[0].outcome == "skipped"


def test_two_workers_on_the_real_adapters_share_one_yahoo_budget(
        redis_server: RedisServer, key_prefix: str, tmp_path: Path) -> None:
    with FakeYahooServer(seed=7) as yahoo:
        def real_worker(directory: Path) -> ResilientProvider:
            return ResilientProvider(settings=Settings(
                providers=[{"name": name, "options": {"base_url": yahoo.base_url}}
                           for name in ("yfinance", "yahooquery")],
                stats={"enabled": False}, deadline_s=10,
                cache={"backend": "disk", "path": str(directory)},
                upstreams={"yahoo": {"remember_rate": False}},
                shared=shared_settings(redis_server.unix_url, key_prefix)))

        one, two = real_worker(tmp_path / "a"), real_worker(tmp_path / "b")
        try:
            assert isinstance(one.upstreams["yahoo"], SharedUpstreamBudget)
            answers = [one.fetch("AAPL"), two.fetch("MSFT")]
            client = redis_server.client()
            found = client.scan(match=f"{key_prefix}:{{budget:yahoo:*", count=1000)[1]
            keys = sorted(k for k in found if isinstance(k, bytes))
            workers = client.zcard(keys[-1]) if keys else 0
        finally:
            one.close()
            two.close()
    assert [a.source for a in answers] == [DataSource.PRIMARY, DataSource.PRIMARY]
    # One budget for both workers (its tickets are gone once settled): both in its heartbeat.
    assert [k.rsplit(b":", 1)[1] for k in keys] == [b"state", b"workers"] and workers == 2


def test_a_worker_forked_after_the_facade_was_built_uses_fleet_mode_on_its_own_connection(
        redis_server: RedisServer, key_prefix: str, tmp_path: Path) -> None:
    provider = CountingProvider()
    parent = worker(provider, tmp_path / "a", redis_server.unix_url, key_prefix)
    try:
        parent.fetch("AAA")  # the parent's connection is open and in use
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the forked worker: a symbol of its own, then the parent's
            try:
                mine, theirs = parent.fetch("BBB"), parent.fetch("AAA")
                os.write(write, f"{mine.source.value},{theirs.source.value}".encode())
            finally:
                os._exit(0)
        os.close(write)
        child = os.read(read, 100).decode()
        os.waitpid(pid, 0)
        served = parent.fetch("BBB")
    finally:
        parent.close()
    assert child == "primary,cache_fresh"
    assert served.source is DataSource.CACHE_FRESH  # the child's fetch reached Redis
