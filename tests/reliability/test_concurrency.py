"""16 threads here and 4 processes (4 threads each) sharing one disk cache directory and one
statistics store, fetching single symbols and batches through a faulty primary and a working
fallback: no errors, no lost counts, no corrupt cache entry.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resilient_provider.cache import DiskCache
from resilient_provider.stats.store import StatsStore
from resilient_provider.strategy.contract import check_info

from .concurrency_worker import UNIVERSE, is_true_data, run
from .scale import duration_s, report

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
THREADS_HERE = 16
THREADS_PER_PROCESS = 4
DURATION_S = duration_s(4.0)

pytestmark = pytest.mark.timeout(DURATION_S + 120)


def test_threads_and_processes_share_cache_and_stats_without_loss(tmp_path: Path) -> None:
    cache_dir, stats_path = tmp_path / "cache", tmp_path / "stats.sqlite3"
    StatsStore(stats_path).close()  # the tables exist before anyone races to create them
    DiskCache(cache_dir).close()
    started = time.monotonic()
    children = [subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.concurrency_worker", str(cache_dir),
         str(stats_path), str(DURATION_S), str(THREADS_PER_PROCESS), str(seed)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True) for seed in range(1, PROCESSES + 1)]
    try:
        here = run(str(cache_dir), str(stats_path), DURATION_S, THREADS_HERE, seed=0)
        outputs = [child.communicate(timeout=DURATION_S + 90)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert [child.returncode for child in children] == [0] * PROCESSES
    runs = [here] + [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    seconds = round(time.monotonic() - started, 1)

    store = StatsStore(stats_path, create=False)
    try:
        per_run = {r["run_id"]: store.report([r["run_id"]]).to_dict() for r in runs}
        together = store.report([r["run_id"] for r in runs]).to_dict()
    finally:
        store.close()

    cache = DiskCache(cache_dir)
    try:
        keys = [k for k in cache._keys() if ":info:" in k]
        entries = cache.get_many(UNIVERSE)
    finally:
        cache.close()
    bad_entries = [s for s, e in entries.items()
                   if isinstance(check_info(s, e.data, provider="check"), Exception)
                   or not is_true_data(s, e.data)]

    requests = sum(r["requests"] for r in runs)
    report("threads_and_processes", requests=requests, processes=PROCESSES + 1,
           threads=THREADS_HERE + PROCESSES * THREADS_PER_PROCESS, seconds=seconds,
           cache_entries=len(entries), stored_total=together["total_requests"])
    assert [p for r in runs for p in r["problems"]] == []
    for r in runs:
        stored = per_run[r["run_id"]]
        assert (stored["total_requests"], r["stats_total"]) == (r["requests"], r["requests"])
        assert sum(stored["counts"].values()) == r["requests"]
        for name, lookups in r["lookups"].items():
            assert stored["providers"].get(name, {"calls": 0})["calls"] == lookups, name
    assert together["total_requests"] == requests
    assert len(keys) == len(entries) > 0  # every stored entry decodes
    assert bad_entries == []
    assert requests > 0
