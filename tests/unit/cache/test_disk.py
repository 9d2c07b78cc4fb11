"""The diskcache backend: JSON-only rows, refused pickles, expiry, damage on open, processes."""

from __future__ import annotations

import io
import logging
import os
import pickle
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import diskcache
import orjson
import pytest
from diskcache.core import MODE_BINARY, MODE_PICKLE, MODE_RAW

import resilient_provider
from resilient_provider.cache import CacheEntry, DiskCache, cache_key, disk_open
from resilient_provider.cache.base import encode_entry
from resilient_provider.cache.json_disk import JsonOnlyDisk, RefusedRowError

KEY = cache_key("AAPL")
INLINE, IN_A_FILE = 0, 64 * 1024  # padding that keeps a pickle inline in SQLite / puts it in a file
BIG = {"pad": "x" * 40_000}  # encodes above diskcache's 32 KiB inline limit


class PlantedPickle:
    """Unpickling this runs code that creates ``marker``: proof that a row was unpickled."""

    def __init__(self, marker: Path, padding: int = INLINE) -> None:
        self.marker = marker
        self.padding = padding

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').close()  # {'x' * self.padding}",)


def plant(cache_dir: Path, key: Any, value: Any, **kwargs: Any) -> None:
    """Write a row with plain diskcache (default pickling Disk), as an attacker could."""
    with diskcache.Cache(str(cache_dir)) as plain:
        plain.set(key, value, **kwargs)


def stored_row(cache_dir: Path, key: str) -> tuple[Any, ...] | None:
    """(mode, filename, value, store_time, expire_time) of ``key``'s row, read with sqlite3."""
    with closing(sqlite3.connect(cache_dir / "cache.db")) as con:
        row: tuple[Any, ...] | None = con.execute(
            "SELECT mode, filename, value, store_time, expire_time FROM Cache WHERE key = ?",
            (key,)).fetchone()
        return row


def warnings_from_disk(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name in ("resilient_provider.cache.disk", "resilient_provider.cache.disk_repair")
            and r.levelno == logging.WARNING]


# -- JSON only --------------------------------------------------------------------------------

def test_small_entry_is_stored_inline_as_json_bytes(disk: DiskCache, cache_dir: Path) -> None:
    disk.set("AAPL", {"p": 1}, fetched_at=100.0, provider="one")
    mode, filename, value, _, _ = stored_row(cache_dir, KEY) or ()
    assert (mode, filename) == (MODE_RAW, None)
    assert orjson.loads(value) == {"v": 1, "data": {"p": 1}, "fetched_at": 100.0, "provider": "one"}


def plant_value_file(cache_dir: Path, symbol: str, data: dict[str, Any]) -> str:
    """Store an entry in a value file, as versions that let diskcache use them did; return
    the file's name."""
    raw = encode_entry(CacheEntry(data, 100.0, "old"))
    with diskcache.Cache(str(cache_dir), disk=diskcache.Disk) as plain:
        plain.set(cache_key(symbol), raw)
    mode, filename, _, _, _ = stored_row(cache_dir, cache_key(symbol)) or ()
    assert mode == MODE_BINARY and filename
    return str(filename)


def test_large_entry_is_stored_inline_never_in_a_value_file(disk: DiskCache,
                                                            cache_dir: Path) -> None:
    # A value file is written before, and deleted outside, the transaction that points a row
    # at it: a kill in between loses the entry or leaves an orphan (issue 15).
    disk.set("AAPL", BIG, fetched_at=100.0, provider="one")
    disk.set_many({"MSFT": CacheEntry(BIG, 100.0, "one"), "IBM": CacheEntry(BIG, 100.0, "one")})
    for symbol in ("AAPL", "MSFT", "IBM"):
        mode, filename, value, _, _ = stored_row(cache_dir, cache_key(symbol)) or ()
        assert (mode, filename) == (MODE_RAW, None)
        assert orjson.loads(value)["data"] == BIG
    assert [p for p in cache_dir.rglob("*.val")] == []


def test_value_file_of_an_older_version_is_still_read(disk: DiskCache, cache_dir: Path) -> None:
    plant_value_file(cache_dir, "AAPL", BIG)
    assert disk.get("AAPL") == CacheEntry(BIG, 100.0, "old")
    assert disk.get_many(["AAPL"]) == {"AAPL": CacheEntry(BIG, 100.0, "old")}


def test_failed_set_many_keeps_the_value_file_it_would_have_replaced(
        disk: DiskCache, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # diskcache deletes a replaced value file when the inner set returns, before the outer
    # transaction commits: an error after it left the old row pointing at nothing.
    filename = plant_value_file(cache_dir, "AAPL", BIG)
    real_set = diskcache.Cache.set
    calls = 0

    def set_then_fail(self: diskcache.Cache, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError(28, "No space left on device")
        return real_set(self, *args, **kwargs)

    monkeypatch.setattr(diskcache.Cache, "set", set_then_fail)
    with pytest.raises(OSError):
        disk.set_many({"AAPL": CacheEntry({"p": 2}, 200.0, "new"),
                       "MSFT": CacheEntry({"p": 2}, 200.0, "new")})
    monkeypatch.undo()
    assert (cache_dir / filename).exists()
    other = DiskCache(cache_dir)  # another process's view: what is on disk
    try:
        assert other.get("AAPL") == CacheEntry(BIG, 100.0, "old")
    finally:
        other.close()
    # The failed entries stay pending here and go with the next write.
    assert disk.get("AAPL") == CacheEntry({"p": 2}, 200.0, "new")
    disk.set("IBM", {"p": 3}, fetched_at=300.0, provider="new")
    assert stored_row(cache_dir, cache_key("MSFT")) is not None
    assert not (cache_dir / filename).exists()  # replaced, once the write committed


def test_replaced_value_file_is_deleted_once_set_many_commits(disk: DiskCache,
                                                              cache_dir: Path) -> None:
    filename = plant_value_file(cache_dir, "AAPL", BIG)
    disk.set_many({"AAPL": CacheEntry({"p": 2}, 200.0, "new"),
                   "MSFT": CacheEntry({"p": 2}, 200.0, "new")})
    assert not (cache_dir / filename).exists()
    assert disk.get("AAPL") == CacheEntry({"p": 2}, 200.0, "new")


def test_prune_deletes_old_value_files_no_row_points_at(disk: DiskCache, cache_dir: Path) -> None:
    # An older version killed between writing a value file and committing its row left the
    # file behind for ever (103 orphans in 36 kills, issue 15).
    kept = plant_value_file(cache_dir, "AAPL", BIG)
    orphan, young = cache_dir / "ab" / "cd" / "orphan.val", cache_dir / "ab" / "ef" / "young.val"
    for path in (orphan, young):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    hours_ago = time.time() - 2 * 3600
    os.utime(orphan, (hours_ago, hours_ago))
    os.utime(cache_dir / kept, (hours_ago, hours_ago))
    disk.prune(older_than=0.0)
    assert not orphan.exists()
    assert young.exists()  # may be an older writer's, about to be pointed at by its row
    assert disk.get("AAPL") == CacheEntry(BIG, 100.0, "old")  # a file a row points at stays


def test_large_entry_round_trips(disk: DiskCache) -> None:
    disk.set("AAPL", BIG, fetched_at=100.0, provider="one")
    assert disk.get("AAPL") == CacheEntry(BIG, 100.0, "one")


@pytest.mark.parametrize("padding", [INLINE, IN_A_FILE], ids=["inline", "in-a-file"])
def test_planted_pickle_runs_code_when_plain_diskcache_reads_it(cache_dir: Path, tmp_path: Path,
                                                                padding: int) -> None:
    # The control for the refusal tests below: the planted row really is live.
    marker = tmp_path / "unpickled"
    plant(cache_dir, KEY, PlantedPickle(marker, padding))
    with diskcache.Cache(str(cache_dir)) as plain:
        plain.get(KEY)
    assert (stored_row(cache_dir, KEY) or ())[0] == MODE_PICKLE
    assert marker.exists()


READS: dict[str, Callable[[DiskCache], object]] = {
    "get": lambda cache: cache.get("AAPL"),
    "get_many": lambda cache: cache.get_many(["AAPL"]),
    "prune": lambda cache: cache.prune(older_than=0.0),
}


@pytest.mark.parametrize("padding", [INLINE, IN_A_FILE], ids=["inline", "in-a-file"])
@pytest.mark.parametrize("read", list(READS))
def test_planted_pickle_row_is_never_unpickled(disk: DiskCache, cache_dir: Path, tmp_path: Path,
                                               padding: int, read: str) -> None:
    marker = tmp_path / "unpickled"
    plant(cache_dir, KEY, PlantedPickle(marker, padding))
    READS[read](disk)
    assert not marker.exists()


def test_planted_pickle_row_reads_as_missing(disk: DiskCache, cache_dir: Path, tmp_path: Path) -> None:
    plant(cache_dir, KEY, PlantedPickle(tmp_path / "unpickled"))
    assert disk.get("AAPL") is None


def test_planted_pickle_row_is_deleted_with_a_warning(disk: DiskCache, cache_dir: Path, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    plant(cache_dir, KEY, PlantedPickle(tmp_path / "unpickled", IN_A_FILE))
    disk.get("AAPL")
    assert stored_row(cache_dir, KEY) is None
    assert [m for m in warnings_from_disk(caplog) if KEY in m and "pickle" in m]


def test_garbage_row_reads_as_missing_with_a_warning(disk: DiskCache, cache_dir: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    plant(cache_dir, KEY, b"\x00 not json")
    assert disk.get("AAPL") is None
    assert [m for m in warnings_from_disk(caplog) if KEY in m]


def test_row_of_another_schema_version_reads_as_missing(disk: DiskCache, cache_dir: Path) -> None:
    plant(cache_dir, KEY, orjson.dumps({"v": 0, "data": {}, "fetched_at": 1.0, "provider": "x"}))
    assert disk.get("AAPL") is None


def test_get_many_returns_readable_entries_beside_an_unreadable_one(disk: DiskCache,
                                                                    cache_dir: Path) -> None:
    disk.set("MSFT", {"p": 1}, fetched_at=100.0, provider="one")
    plant(cache_dir, KEY, b"garbage")
    assert disk.get_many(["AAPL", "MSFT"]) == {"MSFT": CacheEntry({"p": 1}, 100.0, "one")}


def test_get_many_reads_more_symbols_than_one_query_holds_in_the_order_asked(
        disk: DiskCache) -> None:
    stored = [f"S{i}" for i in range(1201)]  # three bulk queries' worth
    disk.set_many({s: CacheEntry({"i": i}, 100.0, "one") for i, s in enumerate(stored)})
    asked = ["NOPE", *reversed(stored), "S7", "ALSO.NOPE"]
    got = disk.get_many(asked)
    assert list(got) == list(reversed(stored))
    assert got["S1200"] == CacheEntry({"i": 1200}, 100.0, "one")


def test_get_many_reads_a_value_file_that_vanished_as_missing(disk: DiskCache, cache_dir: Path
                                                              ) -> None:
    (cache_dir / plant_value_file(cache_dir, "AAPL", BIG)).unlink()
    disk.set("MSFT", {"p": 1}, fetched_at=100.0, provider="one")
    assert disk.get_many(["AAPL", "MSFT"]) == {"MSFT": CacheEntry({"p": 1}, 100.0, "one")}


def test_get_many_leaves_out_rows_diskcache_has_expired(disk: DiskCache, cache_dir: Path) -> None:
    plant_entry = orjson.dumps({"v": 1, "data": {}, "fetched_at": 1.0, "provider": "x"})
    # cull_limit 0: diskcache would otherwise delete the expired row on the next write.
    with diskcache.Cache(str(cache_dir), disk=JsonOnlyDisk, cull_limit=0) as raw:
        raw.set(KEY, plant_entry, expire=-1)  # expired the moment it was written
        raw.set(cache_key("MSFT"), plant_entry)
    assert stored_row(cache_dir, KEY) is not None
    assert set(disk.get_many(["AAPL", "MSFT"])) == {"MSFT"}


def test_row_with_a_pickled_key_is_never_unpickled_by_prune(disk: DiskCache, cache_dir: Path,
                                                            tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    plant(cache_dir, PlantedPickle(marker), b"value")
    disk.set("OLD", {"p": 1}, fetched_at=1.0, provider="one")
    assert disk.prune(older_than=2.0) == 1
    assert not marker.exists()


def test_json_only_disk_refuses_keys_that_are_not_str(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        JsonOnlyDisk(str(tmp_path)).put(("a", "tuple"))


def test_json_only_disk_refuses_a_pickled_key(tmp_path: Path) -> None:
    with pytest.raises(RefusedRowError):
        JsonOnlyDisk(str(tmp_path)).get(pickle.dumps("key"), False)


@pytest.mark.parametrize("value", ["text", 1, {"a": 1}], ids=["str", "int", "dict"])
def test_json_only_disk_refuses_values_that_are_not_bytes(tmp_path: Path, value: object) -> None:
    with pytest.raises(TypeError):
        JsonOnlyDisk(str(tmp_path)).store(value, False)


def test_json_only_disk_refuses_file_values(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        JsonOnlyDisk(str(tmp_path)).store(io.BytesIO(b"{}"), True)


def test_json_only_disk_refuses_a_pickle_row_without_loading_it(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    with pytest.raises(RefusedRowError):
        JsonOnlyDisk(str(tmp_path)).fetch(MODE_PICKLE, None, pickle.dumps(PlantedPickle(marker)), False)
    assert not marker.exists()


# -- expiry and prune -------------------------------------------------------------------------

def test_ttl_bounds_how_long_diskcache_keeps_the_row(cache_dir: Path) -> None:
    cache = DiskCache(cache_dir, ttl_s=3600)
    cache.set("AAPL", {"p": 1}, fetched_at=100.0, provider="one")
    cache.close()
    _, _, _, store_time, expire_time = stored_row(cache_dir, KEY) or ()
    assert expire_time - store_time == pytest.approx(3600)


def test_no_ttl_keeps_rows_without_expiry(cache_dir: Path) -> None:
    cache = DiskCache(cache_dir, ttl_s=None)
    cache.set("AAPL", {"p": 1}, fetched_at=100.0, provider="one")
    cache.close()
    assert (stored_row(cache_dir, KEY) or ())[4] is None


def test_prune_counts_rows_diskcache_has_expired(disk: DiskCache, cache_dir: Path) -> None:
    disk.set("AAPL", {"p": 1}, fetched_at=100.0, provider="one")
    with diskcache.Cache(str(cache_dir)) as plain:
        plain.touch(KEY, expire=-1)  # as if ttl_s had passed
    assert disk.prune(older_than=0.0) == 1
    assert stored_row(cache_dir, KEY) is None


def test_negative_ttl_is_rejected(cache_dir: Path) -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        DiskCache(cache_dir, ttl_s=-1)


# -- opening ----------------------------------------------------------------------------------

def test_entries_survive_reopening(cache_dir: Path, tmp_path: Path) -> None:
    first = DiskCache(cache_dir)
    first.set("AAPL", {"p": 1}, fetched_at=100.0, provider="one")
    first.close()
    again = DiskCache(cache_dir)
    assert again.get("AAPL") == CacheEntry({"p": 1}, 100.0, "one")
    assert list(tmp_path.glob("cache.corrupt-*")) == []
    again.close()


def test_repr_shows_the_directory(disk: DiskCache, cache_dir: Path) -> None:
    assert str(cache_dir) in repr(disk)


def _healthy(cache_dir: Path, entries: int = 2000, data: dict[str, Any] | None = None) -> None:
    cache = DiskCache(cache_dir)
    cache.set_many({f"S{i}": CacheEntry(data or {"pad": "x" * 150, "i": i}, 1.0, "one")
                    for i in range(entries)})
    cache.close()


def truncated_beside_value_files(cache_dir: Path) -> None:
    for symbol in ("S1", "S2", "S3"):
        plant_value_file(cache_dir, symbol, BIG)
    os.truncate(cache_dir / "cache.db", 0)


def garbage_in_middle_pages(cache_dir: Path) -> None:
    _healthy(cache_dir)
    db = cache_dir / "cache.db"
    pages = db.stat().st_size // 4096
    with db.open("r+b") as f:  # past the page header, over the cell pointers of a b-tree page
        f.seek(pages // 2 * 4096 + 100)
        f.write(b"\xa5" * 2000)


def not_a_database(cache_dir: Path) -> None:
    _healthy(cache_dir, entries=3)
    (cache_dir / "cache.db").write_bytes(b"this is not an SQLite database\n" * 200)


DAMAGE = [truncated_beside_value_files, garbage_in_middle_pages, not_a_database]


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_cache_is_moved_aside_whole(cache_dir: Path, tmp_path: Path,
                                            damage: Callable[[Path], None]) -> None:
    damage(cache_dir)
    before = sorted(p.relative_to(cache_dir) for p in cache_dir.rglob("*"))
    damaged = (cache_dir / "cache.db").read_bytes()
    DiskCache(cache_dir).close()
    [aside] = tmp_path.glob("cache.corrupt-*")
    assert sorted(p.relative_to(aside) for p in aside.rglob("*")) == before
    assert (aside / "cache.db").read_bytes() == damaged


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_cache_is_replaced_by_an_empty_working_one(cache_dir: Path,
                                                           damage: Callable[[Path], None]) -> None:
    damage(cache_dir)
    cache = DiskCache(cache_dir)
    assert cache.get("S1") is None
    cache.set("AAPL", {"p": 1}, fetched_at=100.0, provider="one")
    assert cache.get("AAPL") == CacheEntry({"p": 1}, 100.0, "one")
    cache.close()


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_cache_is_reported_at_warning(cache_dir: Path, caplog: pytest.LogCaptureFixture,
                                              damage: Callable[[Path], None]) -> None:
    damage(cache_dir)
    DiskCache(cache_dir).close()
    assert [m for m in warnings_from_disk(caplog) if "damaged" in m and str(cache_dir) in m]


def test_garbage_that_opens_fine_is_caught_by_quick_check(cache_dir: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    garbage_in_middle_pages(cache_dir)
    DiskCache(cache_dir).close()
    assert [m for m in warnings_from_disk(caplog) if "quick_check" in m]


def test_corruption_diskcache_reports_on_open_moves_the_cache_aside(
        cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_database(cache_dir)
    monkeypatch.setattr(disk_open, "damage_of", lambda directory: None)  # no check before opening
    DiskCache(cache_dir).close()
    assert len(list(tmp_path.glob("cache.corrupt-*"))) == 1


def test_truncated_database_alone_is_moved_aside(cache_dir: Path, tmp_path: Path) -> None:
    # A database is linked into place whole (never 0 bytes while being made), so an empty one
    # is a cut one, whatever is beside it.
    _healthy(cache_dir, entries=3)
    os.truncate(cache_dir / "cache.db", 0)
    cache = DiskCache(cache_dir)
    cache.set("AAPL", {"p": 1}, fetched_at=100.0, provider="one")
    assert cache.get_many(["S1", "AAPL"]) == {"AAPL": CacheEntry({"p": 1}, 100.0, "one")}
    assert len(list(tmp_path.glob("cache.corrupt-*"))) == 1
    cache.close()


# -- processes --------------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from resilient_provider.cache import DiskCache
    cache = DiskCache(sys.argv[1])
    for i in range(30):
        cache.set(f"{sys.argv[2]}{i}", {"i": i}, fetched_at=float(i), provider=sys.argv[2])
        assert cache.get(f"{sys.argv[2]}{i}") is not None
    cache.close()
""")


def test_several_processes_share_one_cache(cache_dir: Path) -> None:
    DiskCache(cache_dir).close()  # created once, then written by two processes at the same time
    root = Path(resilient_provider.__file__).parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(cache_dir), prefix], env=env)
               for prefix in ("A", "B")]
    assert [w.wait(timeout=30) for w in writers] == [0, 0]
    cache = DiskCache(cache_dir)
    assert len(cache.get_many([f"{p}{i}" for p in "AB" for i in range(30)])) == 60
    cache.close()
