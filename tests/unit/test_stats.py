"""Reliability statistics: rates by source, per-provider health, correctness under threads."""

from __future__ import annotations

import threading

import pytest

from resilient_provider.cache import MemoryCache
from resilient_provider.errors import ProviderUnavailableError, RateLimitError
from resilient_provider.result import DataSource
from resilient_provider.stats import ReliabilityStats, percentile
from resilient_provider.testing import FakeClock, ScriptedProvider, make_info

from ..conftest import MakeFacade

DOWN = ProviderUnavailableError("connection refused")

RATE_KEYS = ("primary_success_rate", "fallback_usage_rate", "fresh_cache_usage_rate",
             "stale_cache_usage_rate", "total_success_rate", "error_rate", "uptime_estimate")


def test_rates_are_percentages_of_requests_by_source(make_facade: MakeFacade, clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    cache.set("C", make_info("C"), fetched_at=clock(), provider="one")
    cache.set("S", make_info("S"), fetched_at=clock() - 3 * 86400, provider="one")
    primary = ScriptedProvider("one", {s: DOWN for s in ("B", "C", "S", "E")})
    secondary = ScriptedProvider("two", {s: DOWN for s in ("C", "S", "E")})
    facade = make_facade(primary, secondary, cache=cache,
                         provider_defaults={"retry": {"max_attempts": 1}, "breaker": {"failure_threshold": 100}})
    for symbol in ("A", "B", "C", "S", "E"):
        facade.fetch(symbol)
    stats = facade.get_reliability_stats()
    assert stats["total_requests"] == 5
    assert stats["counts"] == {"primary": 1, "fallback": 1, "cache_fresh": 1, "cache_stale": 1,
                               "error": 1, "not_found": 0}
    assert [stats[k] for k in RATE_KEYS] == [20.0, 20.0, 20.0, 20.0, 40.0, 20.0, 80.0]


def test_per_provider_calls_failures_retries_latency_and_breaker(make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one", {"A": [RateLimitError("429"), make_info("A")], "B": DOWN})
    facade = make_facade(primary, ScriptedProvider("two"))
    facade.fetch("A")
    facade.fetch("B")
    one = facade.get_reliability_stats()["providers"]["one"]
    # A: 429 then served; B: fails twice, the second failure trips the breaker (3 in the
    # window), so B is not retried into an open circuit.
    assert one["calls"] == 4 and one["successes"] == 1
    assert one["failures"] == {"rate_limited": 1, "provider_unavailable": 2}
    assert one["retries"] == 2 and one["skipped"] == {}
    assert set(one["latency_ms"]) == {"p50", "p95", "p99"}
    assert all(v is not None and v >= 0 for v in one["latency_ms"].values())
    assert one["breaker"] == {"state": "open", "failure_count": 0, "trips": 1, "retry_in_s": 30.0,
                              "open_for_s": 0.0}


def test_skips_are_counted_apart_from_failures(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), provider_defaults={"retry": {"max_attempts": 1}})
    for _ in range(5):
        facade.fetch("A")
    one = facade.get_reliability_stats()["providers"]["one"]
    assert one["failures"] == {"provider_unavailable": 3} and one["skipped"] == {"circuit_open": 2}


def test_stats_carry_a_run_id_and_start_time(make_facade: MakeFacade) -> None:
    stats = make_facade(ScriptedProvider("one")).get_reliability_stats()
    assert len(stats["run_id"]) == 12 and stats["started_at"].startswith("2026-01-01T00:00:00")
    assert stats["total_requests"] == 0 and all(stats[k] == 0.0 for k in RATE_KEYS)


def test_reset_stats_zeroes_counts_and_starts_a_new_run(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))
    facade.fetch("A")
    before = facade.get_reliability_stats()
    facade.reset_stats()
    after = facade.get_reliability_stats()
    assert after["total_requests"] == 0 and after["providers"]["one"]["calls"] == 0
    assert after["run_id"] != before["run_id"]


def test_concurrent_requests_from_16_threads_are_all_counted(make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one", {f"F{i}": DOWN for i in range(16)})
    facade = make_facade(primary, ScriptedProvider("two"), max_concurrent_requests=16,
                         provider_defaults={"retry": {"max_attempts": 1}, "breaker": {"failure_threshold": 1000}})
    barrier = threading.Barrier(16)
    per_thread = 40

    def worker(index: int) -> None:
        barrier.wait()
        for n in range(per_thread):
            facade.fetch(f"F{index}" if n % 4 == 0 else f"S{index}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = facade.get_reliability_stats()
    assert stats["total_requests"] == 16 * per_thread
    assert stats["counts"]["fallback"] == 16 * per_thread // 4
    assert stats["counts"]["primary"] == 16 * per_thread * 3 // 4
    one = stats["providers"]["one"]
    assert one["calls"] == 16 * per_thread and one["failures"] == {"provider_unavailable": 16 * per_thread // 4}


def test_snapshot_lists_providers_that_were_never_called() -> None:
    stats = ReliabilityStats(clock=FakeClock())
    stats.record_request(DataSource.ERROR)
    assert stats.snapshot({}).to_dict()["providers"] == {}
    stats.record_call("x", latency_ms=5.0, successes=1, failures={})
    assert stats.snapshot({}).to_dict()["providers"]["x"]["latency_ms"] == {"p50": 5.0, "p95": 5.0, "p99": 5.0}


@pytest.mark.parametrize(("pct", "expected"), [(50, 50.0), (95, 95.0), (99, 99.0), (100, 100.0)])
def test_percentile_is_nearest_rank(pct: float, expected: float) -> None:
    assert percentile([float(v) for v in range(1, 101)], pct) == expected


def test_latency_samples_are_bounded() -> None:
    stats = ReliabilityStats(clock=FakeClock(), latency_window=10)
    for value in range(100):
        stats.record_call("x", latency_ms=float(value), successes=1, failures={})
    assert stats.snapshot({}).to_dict()["providers"]["x"]["latency_ms"]["p50"] == 94.0
