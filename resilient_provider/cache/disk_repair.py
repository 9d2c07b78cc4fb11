"""A damaged disk cache is found on open and moved aside whole, never patched up.

A cache is worth less than the run that would fail on it: when the database is damaged
(garbage, truncated, a garbage ``-wal``, a failing ``PRAGMA quick_check``: see
:mod:`resilient_provider.sqlite_repair`), the whole directory is renamed to
``<dir>.corrupt-<UTC stamp>`` (kept for inspection) and the caller starts a fresh one. The
``-wal`` file is never deleted on its own, since it may hold the only good copy of pages.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from diskcache.core import DBNAME

from ..logs import get_logger
from ..sqlite_repair import CHECK_TIMEOUT_S, file_damage, is_corruption, schema_problem
from ..sqlite_repair import move_aside as _move_aside

__all__ = ["damage_of", "is_corruption", "move_aside"]

log = get_logger(__name__)

#: The tables and columns diskcache's queries use: a database without them is not a cache.
DISKCACHE_COLUMNS = {
    "Settings": frozenset({"key", "value"}),
    "Cache": frozenset({"rowid", "key", "raw", "store_time", "expire_time", "access_time",
                        "access_count", "tag", "size", "mode", "filename", "value"}),
}


def damage_of(directory: Path) -> str | None:
    """Why the cache database in ``directory`` is unusable (empty, garbage, truncated, a
    garbage ``-wal``, a failing ``quick_check``, not diskcache's tables), or None when it is
    sound or absent (or ``directory`` is not a directory: opening then fails, and a user's
    file is never moved)."""
    if not directory.is_dir():
        return None
    db = directory / DBNAME
    try:
        size = db.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        # Never a database being made: disk_open links a whole one into place.
        return f"{DBNAME} is empty"
    return file_damage(db) or _schema_damage(db)


def _schema_damage(db: Path) -> str | None:
    """Why ``db`` is not diskcache's database (another program's tables, or diskcache's with
    columns missing), or None; a busy database is left to the opener."""
    try:
        with closing(sqlite3.connect(db, timeout=CHECK_TIMEOUT_S)) as con:
            return schema_problem(con, DISKCACHE_COLUMNS, what="diskcache database")
    except sqlite3.DatabaseError as exc:
        return str(exc) if is_corruption(exc) else None


def move_aside(directory: Path, problem: str) -> None:
    """Rename the whole of ``directory`` out of the way, keeping it for inspection."""
    _move_aside(directory, problem, what="cache", logger=log)
