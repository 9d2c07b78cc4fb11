"""The SQLite statistics store: runs, summed counters, reports, timeline, pruning, readers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from resilient_provider.stats.histogram import bucket_of, upper_bound_ms
from resilient_provider.stats.store import (
    AlertRecord,
    Flush,
    RunInfo,
    Sample,
    StatsStore,
    StatsStoreError,
)

T0 = 1_767_225_600.0


def run(run_id: str, started_at: float = T0) -> RunInfo:
    return RunInfo(run_id, started_at, "abc123def456", 4242, "host")


def flush(at: float = T0 + 10, **counters: int) -> Flush:
    """A flush of named counters: ``primary=3`` is 3 primary requests, ``calls=3`` 3 calls."""
    keys = {"primary": ("source", "", "requests", "primary"),
            "fallback": ("source", "", "requests", "fallback"),
            "error": ("source", "", "requests", "error"),
            "calls": ("provider", "yf", "calls", ""),
            "successes": ("provider", "yf", "successes", ""),
            "timeouts": ("provider", "yf", "failures", "timeout"),
            "retries": ("provider", "yf", "retries", ""),
            "trips": ("provider", "yf", "trips", "")}
    return Flush(at=at, counters={keys[name]: value for name, value in counters.items()},
                 breaker_states={"yf": "closed"})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StatsStore]:
    s = StatsStore(tmp_path / "stats.sqlite3")
    yield s
    s.close()


def test_flushes_add_up_into_one_report(store: StatsStore) -> None:
    store.start_run(run("r1"))
    store.write("r1", flush(primary=3, calls=4, successes=3, timeouts=1, retries=1))
    store.write("r1", flush(primary=2, fallback=1, calls=2, successes=2, trips=1))
    report = store.report(["r1"]).to_dict()
    assert report["run_id"] == "r1" and report["runs"] == 1
    assert report["counts"] == {"primary": 5, "fallback": 1, "cache_fresh": 0,
                                "cache_stale": 0, "error": 0, "not_found": 0}
    assert report["total_requests"] == 6 and report["fallback_usage_rate"] == pytest.approx(16.67)
    yf = report["providers"]["yf"]
    assert (yf["calls"], yf["successes"], yf["retries"]) == (6, 5, 1)
    assert yf["failures"] == {"timeout": 1} and yf["success_rate"] == pytest.approx(83.33)
    assert yf["breaker"] == {"state": "closed", "trips": 1}
    assert report["ended_at"] is None and report["config_fingerprint"] == "abc123def456"


def test_several_runs_sum_into_one_report_and_list_oldest_first(store: StatsStore) -> None:
    store.start_run(run("old", T0))
    store.start_run(run("new", T0 + 100))
    store.write("old", flush(primary=1, error=1))
    store.write("new", flush(primary=2))
    assert store.run_ids() == ["new", "old"] and store.last_run_id() == "new"
    assert store.run_ids(since=T0 + 50) == ["new"]
    both = store.report(store.run_ids()).to_dict()
    assert both["runs"] == 2 and both["total_requests"] == 4 and both["run_ids"] == ["new", "old"]
    assert [r.to_dict()["run_id"] for r in store.reports(["new", "old"])] == ["old", "new"]


def test_latency_percentiles_come_from_the_summed_histograms(store: StatsStore) -> None:
    store.start_run(run("r1"))
    fast, slow = bucket_of(10.0), bucket_of(900.0)
    store.write("r1", Flush(T0, {("provider", "yf", "latency_bucket", str(fast)): 90,
                                 ("provider", "yf", "calls", ""): 90}, {}))
    store.write("r1", Flush(T0, {("provider", "yf", "latency_bucket", str(slow)): 10,
                                 ("provider", "yf", "calls", ""): 10}, {}))
    latency = store.report(["r1"]).to_dict()["providers"]["yf"]["latency_ms"]
    assert latency == {"p50": upper_bound_ms(fast), "p95": upper_bound_ms(slow),
                       "p99": upper_bound_ms(slow)}


def test_an_ended_run_says_when(store: StatsStore) -> None:
    store.start_run(run("r1"))
    store.end_run("r1", T0 + 60)
    assert store.report(["r1"]).to_dict()["ended_at"] == "2026-01-01T00:01:00.000+00:00"


def test_the_timeline_and_alerts_are_kept_per_run(store: StatsStore) -> None:
    store.start_run(run("r1"))
    alert = AlertRecord("fallback_usage", None, "fallback 40%", 40.0, 10.0)
    store.write("r1", Flush(T0 + 10, {}, {}, samples=[Sample("yf", 5, 1, 50.0, 80.0)]))
    store.write("r1", Flush(T0 + 20, {}, {}, samples=[Sample("yf", 3, 3, None, None)],
                            alerts=[alert]))
    assert store.timeline(["r1"]) == [
        {"at": T0 + 10, "run_id": "r1", "provider": "yf", "calls": 5, "failures": 1,
         "p50_ms": 50.0, "p95_ms": 80.0},
        {"at": T0 + 20, "run_id": "r1", "provider": "yf", "calls": 3, "failures": 3,
         "p50_ms": None, "p95_ms": None}]
    assert store.report(["r1"]).to_dict()["alerts"] == [
        {"name": "fallback_usage", "provider": None, "message": "fallback 40%", "value": 40.0,
         "threshold": 10.0}]


def test_prune_deletes_runs_last_heard_of_before_the_cutoff(store: StatsStore) -> None:
    store.start_run(run("old", T0))
    store.write("old", flush(at=T0 + 5, primary=1))
    store.start_run(run("new", T0 + 1000))
    assert store.prune(older_than=T0 + 500) == 1
    assert store.run_ids() == ["new"] and not store.has_run("old")
    assert store.report(["old"]).to_dict()["total_requests"] == 0  # its counters went with it


def test_concurrent_writers_lose_no_increment(tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    StatsStore(path).start_run(run("r1"))
    writers = [StatsStore(path) for _ in range(4)]  # four connections, as four processes have
    rounds = 50

    def write(store: StatsStore) -> None:
        for _ in range(rounds):
            store.write("r1", flush(primary=1, calls=2))

    threads = [threading.Thread(target=write, args=(s,)) for s in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    report = writers[0].report(["r1"]).to_dict()
    assert report["total_requests"] == 4 * rounds
    assert report["providers"]["yf"]["calls"] == 8 * rounds


def test_a_reader_refuses_a_missing_or_foreign_file(tmp_path: Path) -> None:
    with pytest.raises(StatsStoreError, match="no statistics store"):
        StatsStore(tmp_path / "missing.sqlite3", create=False)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database" * 100)
    with pytest.raises(StatsStoreError, match="not a usable statistics store"):
        StatsStore(garbage, create=False)
    assert not (tmp_path / "missing.sqlite3").exists()


def test_reports_list_providers_in_chain_order_primary_first(store: StatsStore) -> None:
    store.start_run(RunInfo("r1", T0, "f", 1, "h", providers=("yfinance", "yahooquery")))
    store.write("r1", Flush(T0, {("provider", "yahooquery", "calls", ""): 1,
                                 ("provider", "yfinance", "calls", ""): 2,
                                 ("provider", "adhoc", "calls", ""): 1}, {}))
    assert list(store.report(["r1"]).to_dict()["providers"]) == ["yfinance", "yahooquery", "adhoc"]
