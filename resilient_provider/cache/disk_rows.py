"""Reading diskcache's table straight: many keys per query, and every key, pickles refused.

diskcache has no multi-get and its ``get`` is one query per key, so a warm 500-symbol batch
would spend most of its time in SQLite round trips; and its iterators pass a pickled key to
:class:`~.json_disk.JsonOnlyDisk`, which refuses it, so one planted row would stop a whole
iteration. These run the queries themselves.
"""

from __future__ import annotations

import time
from pathlib import Path

import diskcache

from .json_disk import RefusedRowError

#: Keys per query of :func:`read_rows` (entries and negative-cache rows): well below SQLite's
#: oldest limit on query parameters (999).
READ_BATCH = 500


def read_rows(cache: diskcache.Cache, keys: list[str]
              ) -> tuple[dict[str, bytes], dict[str, RefusedRowError]]:
    """The bytes stored under those ``keys`` that have a live row, in the order asked, and
    the rows refused (pickled, or otherwise not bytes) with why.

    This runs the query of diskcache's own fast ``get`` path (the path it takes with
    statistics off and least-recently-stored eviction, both pinned when the cache is opened)
    for up to :data:`READ_BATCH` keys at once, and hands each row to the disk's ``fetch`` as
    ``get`` does: same rows, same expiry, same refusal of pickles, a fraction of the time.
    """
    found: dict[str, bytes] = {}
    refused: dict[str, RefusedRowError] = {}
    for start in range(0, len(keys), READ_BATCH):
        part = keys[start:start + READ_BATCH]
        marks = ",".join("?" * len(part))
        rows = cache._sql(
            "SELECT key, mode, filename, value FROM Cache WHERE raw = 1"
            f" AND key IN ({marks}) AND (expire_time IS NULL OR expire_time > ?)",
            (*part, time.time())).fetchall()
        for key, mode, filename, value in rows:
            try:
                found[key] = cache.disk.fetch(mode, filename, value, False)
            except RefusedRowError as exc:
                refused[key] = exc
            except OSError:
                pass  # its (older version's) value file was deleted meanwhile: missing, as for get
    return {key: found[key] for key in keys if key in found}, refused


def stored_keys(cache: diskcache.Cache) -> list[str]:
    """Every ``str`` key stored, read straight from diskcache's table."""
    rows = cache._sql("SELECT key FROM Cache WHERE raw = 1").fetchall()
    return [key for (key,) in rows if isinstance(key, str)]


#: Seconds a value file no row points at is left alone before :func:`remove_orphaned_files`
#: deletes it: an older version's writer creates the file just before the row that points at it.
ORPHAN_GRACE_S = 3600.0


def remove_orphaned_files(cache: diskcache.Cache, *, now: float | None = None) -> int:
    """Delete the value files under the cache's directory that no row points at (left by an
    older version killed between writing a file and committing its row) and are older than
    :data:`ORPHAN_GRACE_S`; how many were deleted. This version writes no value files."""
    directory = Path(cache.directory)
    referenced = {name for (name,) in cache._sql(
        "SELECT filename FROM Cache WHERE filename IS NOT NULL").fetchall()}
    cutoff = (time.time() if now is None else now) - ORPHAN_GRACE_S
    removed = 0
    for path in directory.glob("*/*/*.val"):  # diskcache's layout: ab/cd/<random>.val
        relative = path.relative_to(directory).as_posix()
        try:
            if relative in referenced or path.is_symlink() or path.stat().st_mtime > cutoff:
                continue
            path.unlink()
        except OSError:
            continue  # gone meanwhile, or not ours to delete: left as it is
        removed += 1
    return removed
