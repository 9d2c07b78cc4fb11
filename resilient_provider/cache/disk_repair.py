"""A damaged disk cache is found on open and moved aside whole, never patched up.

A cache is worth less than the run that would fail on it: when the database is damaged, the
whole directory is renamed to ``<dir>.corrupt-<UTC stamp>`` (kept for inspection) and the
caller starts a fresh one. The ``-wal`` file is never deleted on its own, since it may hold the
only good copy of pages.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from diskcache.core import DBNAME

from ..logs import get_logger

log = get_logger(__name__)


def damage_of(directory: Path) -> str | None:
    """Why the cache database in ``directory`` is unusable, or None when it is sound or
    absent."""
    db = directory / DBNAME
    try:
        size = db.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        # SQLite reads a 0-byte file as an empty database, and another process may be
        # creating it this very moment; value files or a WAL beside it mean it was cut.
        others = [p.name for p in directory.iterdir()
                  if p.name not in {DBNAME, f"{DBNAME}-journal"}]
        return f"{DBNAME} is empty beside {len(others)} other entries" if others else None
    try:
        with closing(sqlite3.connect(db)) as con:
            rows = con.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            return str(exc)
        # Busy or unreadable is not damage: let diskcache open it and report what it finds.
        log.warning("could not check cache database %s, opening it unchecked: %s", db, exc)
        return None
    if rows == [("ok",)]:
        return None
    return "quick_check: " + "; ".join(str(row[0]) for row in rows[:3])


def move_aside(directory: Path, problem: str) -> None:
    """Rename the whole of ``directory`` out of the way, keeping it for inspection."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = directory.with_name(f"{directory.name}.corrupt-{stamp}")
    try:
        directory.rename(target)
    except FileNotFoundError:
        # Another process got there first; what it left behind is a fresh start too.
        log.warning("cache at %s is damaged (%s); already moved aside", directory, problem)
        return
    log.warning("cache at %s is damaged (%s); moved it to %s and starting empty",
                directory, problem, target)


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite said the file is damaged (not merely busy, missing or unwritable)."""
    name = exc.sqlite_errorname
    return name == "SQLITE_NOTADB" or name.startswith("SQLITE_CORRUPT")
