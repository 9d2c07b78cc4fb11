"""The statistics store is private to its user, and a façade's fake clock prunes nobody's runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

from resilient_provider import ResilientProvider
from resilient_provider.stats.store import Flush, RunInfo, StatsStore
from resilient_provider.testing import FakeClock, ScriptedProvider
from tests.conftest import fast_settings, mode_of

YEAR_S = 365 * 86400.0






def test_the_store_its_wal_and_its_new_parents_are_user_only(tmp_path: Path, umask: int) -> None:
    # They were 0o644 files in 0o755 directories under a 022 umask (issue 15).
    path = tmp_path / "new" / "parent" / "stats.sqlite3"
    store = StatsStore(path)
    try:
        store.start_run(RunInfo("r1", 1.0, "f", 1, "h"))
        store.write("r1", Flush(at=2.0, counters={("run", "", "requests", ""): 1},
                                breaker_states={}))
        for directory in (tmp_path / "new", path.parent):
            assert mode_of(directory) == 0o700, directory
        files = sorted(path.parent.iterdir())
        assert [p.name for p in files] == ["stats.sqlite3", "stats.sqlite3-shm",
                                           "stats.sqlite3-wal"]
        for file in files:
            assert mode_of(file) == 0o600, file
    finally:
        store.close()


def test_a_facade_with_a_clock_far_ahead_leaves_another_process_s_running_run(
        tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    other = StatsStore(path)
    other.start_run(RunInfo("other-process", time.time(), "f", os.getpid() + 1, "h"))
    other.close()
    clock = FakeClock(start=time.time() + YEAR_S)  # beyond the 30-day retention
    facade = ResilientProvider([ScriptedProvider("one")], clock=clock,
                               settings=fast_settings(stats={"path": str(path)}))
    facade.close()
    store = StatsStore(path, create=False)
    try:
        assert store.has_run("other-process")
    finally:
        store.close()


def test_runs_older_than_the_retention_by_the_real_clock_are_pruned(tmp_path: Path) -> None:
    # The control for the test above: pruning still happens, by time.time().
    path = tmp_path / "stats.sqlite3"
    other = StatsStore(path)
    other.start_run(RunInfo("ancient", time.time() - YEAR_S, "f", os.getpid() + 1, "h"))
    other.close()
    facade = ResilientProvider([ScriptedProvider("one")], clock=FakeClock(start=1_000.0),
                               settings=fast_settings(stats={"path": str(path)}))
    facade.close()
    store = StatsStore(path, create=False)
    try:
        assert not store.has_run("ancient")
    finally:
        store.close()
