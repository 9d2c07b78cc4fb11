"""A damaged disk cache is found on open and moved aside whole, never patched up.

A cache is worth less than the run that would fail on it: when the database is damaged
(garbage, truncated, a garbage ``-wal``, a failing ``PRAGMA quick_check``: see
:mod:`resilient_provider.sqlite_repair`), the whole directory is renamed to
``<dir>.corrupt-<UTC stamp>`` (kept for inspection) and the caller starts a fresh one. The
``-wal`` file is never deleted on its own, since it may hold the only good copy of pages.
"""

from __future__ import annotations

from pathlib import Path

from diskcache.core import DBNAME

from ..logs import get_logger
from ..sqlite_repair import file_damage, is_corruption
from ..sqlite_repair import move_aside as _move_aside

__all__ = ["damage_of", "is_corruption", "move_aside"]

log = get_logger(__name__)


def damage_of(directory: Path) -> str | None:
    """Why the cache database in ``directory`` is unusable, or None when it is sound or
    absent (or ``directory`` is not a directory: opening then fails, and a user's file is
    never moved)."""
    if not directory.is_dir():
        return None
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
    return file_damage(db)


def move_aside(directory: Path, problem: str) -> None:
    """Rename the whole of ``directory`` out of the way, keeping it for inspection."""
    _move_aside(directory, problem, what="cache", logger=log)
