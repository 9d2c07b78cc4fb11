"""Crash safety (issue 15, item 3): a writer SIGKILLed at random points loses nothing it wrote.

A child process (:mod:`tests.reliability.cache_writer`) writes round after round to a disk
cache (entries large enough for diskcache's value files, and small ones; ``set_many``, ``set``
and a ``prune`` that deletes) and to the statistics store, and is SIGKILLed at a random
(seeded) moment, again and again. After every kill: every entry reads back whole, and old or
new (the last round the child confirmed, or the one it was writing); nothing it confirmed is
lost from the store; both databases open (nothing moved aside) and pass ``PRAGMA
integrity_check``; no value file is left without a row. At the end a façade works on both.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from resilient_provider import ResilientProvider, Settings
from resilient_provider.cache import DiskCache
from resilient_provider.errors import ProviderUnavailableError
from resilient_provider.stats.store import StatsStore
from resilient_provider.testing import ScriptedProvider

from .cache_writer import SCRATCH, SYMBOLS, digest
from .scale import report, scale

ROOT = Path(__file__).resolve().parents[2]
KILLS = scale(8, 50)
SEED = 20261203
#: Seconds after ``ready`` within which the kill lands (real time: a real process is killed).
KILL_WINDOW_S = (0.0, 0.5)
DATABASE_FILES = {"cache.db", "cache.db-wal", "cache.db-shm"}

Version = tuple[int, int]


class Writer:
    """The child, with the rounds it has confirmed read from its stdout on a thread."""

    def __init__(self, cache_dir: Path, stats_path: Path, generation: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.cache_writer", str(cache_dir),
             str(stats_path), str(generation)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.ready = threading.Event()
        self.confirmed: int | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip() == "ready":
                self.ready.set()
            elif line.startswith("round "):
                self.confirmed = int(line.split()[1])

    def kill(self) -> int | None:
        """SIGKILL the child; the last round it confirmed (None: none)."""
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL
        self._reader.join(timeout=30)
        return self.confirmed


def version_of(data: dict[str, Any], symbol: str) -> Version:
    """The (generation, round) an entry was written in; fails if the entry is not whole."""
    assert data["symbol"] == symbol
    assert data["digest"] == digest(symbol, data["generation"], data["round"], data["pad"]), (
        f"{symbol}: the entry read back is not one that was written")
    return int(data["generation"]), int(data["round"])


def integrity(db: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as con:
        return con.execute("PRAGMA integrity_check").fetchall()


def orphaned_value_files(cache_dir: Path) -> list[str]:
    """Value files in the cache directory that no row points at."""
    with closing(sqlite3.connect(cache_dir / "cache.db")) as con:
        referenced = {row[0] for row in con.execute(
            "SELECT filename FROM Cache WHERE filename IS NOT NULL")}
    return sorted(str(p.relative_to(cache_dir)) for p in cache_dir.rglob("*")
                  if p.is_file() and p.name not in DATABASE_FILES
                  and str(p.relative_to(cache_dir)) not in referenced)


def check_after_kill(cache_dir: Path, stats_path: Path, generation: int,
                     confirmed: int | None, before: dict[str, Version | None]) -> dict[str, Version | None]:
    """Every assertion of one kill; returns each symbol's version now."""
    allowed_new = {(generation, 0)} if confirmed is None else {
        (generation, confirmed), (generation, confirmed + 1)}
    cache = DiskCache(cache_dir, ttl_s=None)
    try:
        now: dict[str, Version | None] = {}
        for symbol in SYMBOLS:
            entry = cache.get(symbol)
            version = None if entry is None else version_of(entry.data, symbol)
            allowed = allowed_new if confirmed is not None else allowed_new | {before[symbol]}
            assert version in allowed, (
                f"kill {generation}: {symbol} reads as {version}, neither old nor new "
                f"({sorted(map(str, allowed))})")
            now[symbol] = version
        scratch = cache.get(SCRATCH)
        if scratch is not None:
            version_of(scratch.data, SCRATCH)
    finally:
        cache.close()
    store = StatsStore(stats_path)
    try:
        counted = store.report([f"writer-{generation}"]).to_dict()["total_requests"]
        # Rounds 0..confirmed were flushed, and the one being written may have been too.
        done = 0 if confirmed is None else confirmed + 1
        assert counted in (done, done + 1), (counted, done)
    finally:
        store.close()
    assert integrity(cache_dir / "cache.db") == [("ok",)]
    assert integrity(stats_path) == [("ok",)]
    strays = orphaned_value_files(cache_dir)
    assert strays == [], f"kill {generation}: {len(strays)} orphaned value files {strays[:3]}"
    assert list(cache_dir.parent.glob("*.corrupt-*")) == []
    return now


def test_a_writer_killed_at_random_points_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    cache_dir, stats_path = tmp_path / "cache", tmp_path / "stats.sqlite3"
    versions: dict[str, Version | None] = dict.fromkeys(SYMBOLS)
    rounds = 0
    started = time.monotonic()
    for generation in range(KILLS):
        writer = Writer(cache_dir, stats_path, generation)
        try:
            assert writer.ready.wait(timeout=60), "the writer never started"
            time.sleep(rng.uniform(*KILL_WINDOW_S))
        finally:
            confirmed = writer.kill()
        rounds += 0 if confirmed is None else confirmed + 1
        versions = check_after_kill(cache_dir, stats_path, generation, confirmed, versions)
    facade_answered = facade_works_on(cache_dir, stats_path)
    report("crash_safety", kills=KILLS, rounds_confirmed=rounds,
           entries_checked=KILLS * len(SYMBOLS), seed=SEED,
           seconds=round(time.monotonic() - started, 1))
    assert rounds > 0 and facade_answered


def facade_works_on(cache_dir: Path, stats_path: Path) -> bool:
    """A façade on both stores: a provider's answer, and a cached entry when it is down."""
    settings = Settings(providers=[], provider_defaults={"rate_limit_per_s": 0,
                                                         "retry": {"max_attempts": 1}},
                        upstreams={"yahoo": {"enabled": False}},
                        cache={"backend": "disk", "path": str(cache_dir)},
                        stats={"path": str(stats_path)})
    provider = ScriptedProvider("one", {SYMBOLS[0]: ProviderUnavailableError("down")})
    facade = ResilientProvider([provider], settings=settings)
    try:
        assert facade.get_ticker_info("AAPL")["_data_source"] == "primary"
        cached = facade.get_ticker_info(SYMBOLS[0])
        assert cached["_data_source"] in ("cache_fresh", "cache_stale"), cached.get("error")
    finally:
        facade.close()
    store = StatsStore(stats_path, create=False)
    try:
        assert store.report([facade.run_id]).to_dict()["total_requests"] == 2
    finally:
        store.close()
    return True
