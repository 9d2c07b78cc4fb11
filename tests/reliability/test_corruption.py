"""Corruption (issue 15, item 4): damaged stores are moved aside, rebuilt, and the run goes on.

Truncated, zero-length, garbage and wrong-schema cache and statistics databases, garbage WAL
files and a statistics path that is a directory: each is detected when a façade opens it, moved
aside (``<name>.corrupt-<stamp>``) with one WARNING naming it, rebuilt, and the façade answers
from its providers and keeps its entries and statistics in the new stores. An entry that fails
to decode or fails the data contract is treated as absent.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import diskcache
import pytest

from resilient_provider import ResilientProvider, Settings
from resilient_provider.cache import CacheEntry, DiskCache, cache_key
from resilient_provider.errors import ProviderUnavailableError
from resilient_provider.stats.store import Flush, RunInfo, Sample, StatsStore
from resilient_provider.testing import ScriptedProvider, make_info

from .scale import report, scale

SEEDS = scale(1, 5)
Damage = Callable[[Path, random.Random], None]


def settings_for(tmp_path: Path) -> Settings:
    return Settings(providers=[], provider_defaults={"rate_limit_per_s": 0,
                                                     "retry": {"max_attempts": 1}},
                    upstreams={"yahoo": {"enabled": False}},
                    cache={"backend": "disk", "path": str(tmp_path / "cache")},
                    stats={"path": str(tmp_path / "stats.sqlite3")})


def healthy_stores(tmp_path: Path) -> tuple[Path, Path]:
    """A cache directory with 400 entries and a statistics store with 200 runs, closed."""
    cache_dir, stats_path = tmp_path / "cache", tmp_path / "stats.sqlite3"
    with closing(DiskCache(cache_dir)) as cache:
        cache.set_many({f"S{i}": CacheEntry(make_info(f"S{i}"), time.time(), "one")
                        for i in range(400)})
    with closing(StatsStore(stats_path)) as store:
        for i in range(200):
            store.start_run(RunInfo(f"run-{i}", time.time(), "f", 1, "h"))
            store.write(f"run-{i}", Flush(at=time.time(), breaker_states={"one": "closed"},
                                          counters={("source", "", "requests", "primary"): 3},
                                          samples=[Sample("one", 3, 0, 1.0, 2.0)]))
    return cache_dir, stats_path


def truncated(db: Path, rng: random.Random) -> None:
    size = db.stat().st_size
    os.truncate(db, rng.randrange(size // 4, size * 3 // 4))


def zero_length(db: Path, rng: random.Random) -> None:
    os.truncate(db, 0)


def garbage(db: Path, rng: random.Random) -> None:
    db.write_bytes(rng.randbytes(db.stat().st_size))


def garbage_pages(db: Path, rng: random.Random) -> None:
    """Garbage over two whole middle pages: the file still opens, reads fail later. (Garbage
    over part of a page can land in its free space, harmless and rightly not found.)"""
    pages = db.stat().st_size // 4096
    with db.open("r+b") as f:
        f.seek(rng.randrange(pages // 3, pages * 2 // 3) * 4096)
        f.write(rng.randbytes(2 * 4096))


def wrong_schema(db: Path, rng: random.Random) -> None:
    """One of our table names with other columns."""
    db.unlink()
    with closing(sqlite3.connect(db)) as con:
        con.executescript("CREATE TABLE Cache (key TEXT); CREATE TABLE runs (run_id TEXT);")


def another_program_s(db: Path, rng: random.Random) -> None:
    db.unlink()
    with closing(sqlite3.connect(db)) as con:
        con.executescript("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")


def garbage_wal(db: Path, rng: random.Random) -> None:
    db.with_name(db.name + "-wal").write_bytes(rng.randbytes(4096 * 3))


def a_directory(db: Path, rng: random.Random) -> None:
    db.unlink()
    (db / "inside").mkdir(parents=True)


DAMAGES: list[Damage] = [truncated, zero_length, garbage, garbage_pages, wrong_schema,
                         another_program_s, garbage_wal]
CASES = [("cache", d) for d in DAMAGES] + [("stats", d) for d in [*DAMAGES, a_directory]]
RUNS = {"count": 0}


@pytest.mark.parametrize("seed", range(SEEDS))
@pytest.mark.parametrize("store, damage", CASES, ids=[f"{s}-{d.__name__}" for s, d in CASES])
def test_a_damaged_store_is_moved_aside_with_one_warning_and_the_run_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, store: str, damage: Damage,
        seed: int) -> None:
    cache_dir, stats_path = healthy_stores(tmp_path)
    damaged = cache_dir if store == "cache" else stats_path
    damage(cache_dir / "cache.db" if store == "cache" else stats_path, random.Random(seed))
    caplog.set_level(logging.WARNING, logger="resilient_provider")
    facade = ResilientProvider([ScriptedProvider("one")], settings=settings_for(tmp_path))
    try:
        assert facade.get_ticker_info("AAPL")["_data_source"] == "primary"
    finally:
        facade.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(damaged) in warnings[0] and "damaged" in warnings[0]
    aside = [p for p in tmp_path.glob(f"{damaged.name}.corrupt-*")
             if not p.name.endswith(("-wal", "-shm"))]  # a store's move its WAL beside it
    assert len(aside) == 1
    # Rebuilt: the answer was cached and the run recorded in the new stores.
    with closing(DiskCache(cache_dir)) as cache:
        assert cache.get("AAPL") is not None
    with closing(StatsStore(stats_path, create=False)) as stats:
        assert stats.has_run(facade.run_id)
    RUNS["count"] += 1


def test_entries_that_fail_to_decode_or_the_contract_are_absent(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache_dir, _ = healthy_stores(tmp_path)
    with diskcache.Cache(str(cache_dir)) as plain:  # rows as a damaged disk or a stranger left
        plain.set(cache_key("GARBAGE"), b"\x00\xff not json")
    with closing(DiskCache(cache_dir)) as cache:
        cache.set("NEGATIVE", make_info("NEGATIVE", regularMarketPrice=-5.0),
                  fetched_at=time.time(), provider="one")
        cache.set("WRONG", make_info("OTHER"), fetched_at=time.time(), provider="one")
        cache.set("FUTURE", make_info("FUTURE"), fetched_at=time.time() + 86400, provider="one")
    bad = ["GARBAGE", "NEGATIVE", "WRONG", "FUTURE"]
    down = ScriptedProvider("one", default=ProviderUnavailableError("down"))
    facade = ResilientProvider([down], settings=settings_for(tmp_path))
    try:
        answers = facade.batch_fetch([*bad, "S1"])
    finally:
        facade.close()
    sources = {s: r.source.value for s, r in answers.items()}
    assert sources == {**dict.fromkeys(bad, "error"), "S1": "cache_fresh"}
    assert list(tmp_path.glob("*.corrupt-*")) == []  # a bad row is not a damaged database
    up = ResilientProvider([ScriptedProvider("one")], settings=settings_for(tmp_path))
    try:
        assert {r.source.value for r in up.batch_fetch(bad).values()} == {"primary"}
    finally:
        up.close()


def test_zz_report_figures() -> None:
    report("corruption", cases=len(CASES), seeds=SEEDS, damaged_runs=RUNS["count"])
