"""The statistics store under real processes: a kill -9 and concurrent writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from resilient_provider.stats.store import StatsStore

ROOT = Path(__file__).resolve().parents[2]


def start_writer(store: Path, count: int, interval_s: float, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.stats_writer", str(store), str(count),
         str(interval_s), *extra],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def read_line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    return child.stdout.readline().strip()


def stored_requests(path: Path, run_id: str) -> int:
    store = StatsStore(path, create=False)
    try:
        return int(store.report([run_id]).to_dict()["total_requests"])
    finally:
        store.close()


def test_counts_flushed_before_a_kill_9_survive_it(tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    child = start_writer(path, 120, 0.05, "--hang")
    try:
        run_id = read_line(child).removeprefix("run ")
        assert read_line(child) == "done"
        # Within one flush interval of its last request the writer has flushed everything.
        deadline = time.monotonic() + 20
        while not path.exists() or stored_requests(path, run_id) < 120:
            assert time.monotonic() < deadline, "the writer never flushed its counts"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    store = StatsStore(path, create=False)
    report = store.report([run_id]).to_dict()
    store.close()
    assert report["total_requests"] == 120 and report["counts"]["primary"] == 120
    assert report["providers"]["scripted"]["calls"] == 120
    assert report["ended_at"] is None  # killed: never ended, and the store is intact


def test_two_processes_writing_one_store_lose_no_count(tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    StatsStore(path).close()  # both find the tables; neither races to create them
    children = [start_writer(path, 400, 0.001) for _ in range(2)]
    run_ids = []
    for child in children:
        run_ids.append(read_line(child).removeprefix("run "))
        assert read_line(child) == "done"
    for child in children:
        assert child.wait(30) == 0
    store = StatsStore(path, create=False)
    assert sorted(store.run_ids()) == sorted(run_ids)
    assert [store.report([r]).to_dict()["total_requests"] for r in run_ids] == [400, 400]
    both = store.report(run_ids).to_dict()
    store.close()
    assert both["total_requests"] == 800 and both["providers"]["scripted"]["calls"] == 800
    assert both["ended_at"] is not None


def test_a_process_that_exits_without_closing_flushes_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    child = start_writer(path, 30, 3600, "--no-close")  # no periodic flush within the run
    run_id = read_line(child).removeprefix("run ")
    assert read_line(child) == "done"
    assert child.wait(30) == 0
    store = StatsStore(path, create=False)
    report = store.report([run_id]).to_dict()
    store.close()
    assert report["total_requests"] == 30 and report["ended_at"] is not None
