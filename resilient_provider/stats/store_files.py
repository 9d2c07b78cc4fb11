"""The statistics store's file: found damaged and moved aside, or created private and whole.

Damage is an empty or truncated file, garbage, a garbage ``-wal``, a failing ``quick_check``
(the checks shared with the disk cache, in :mod:`resilient_provider.sqlite_repair`), another
program's tables or ours with columns missing, or a directory at the path. A new store is
created 0o600 (SQLite gives its ``-wal`` and ``-shm`` the same mode) under missing parents
made 0o700, and linked into place whole, so its path never holds a half-made (empty) file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from functools import cache
from pathlib import Path

from ..logs import get_logger
from ..private_files import make_private_dirs
from ..sqlite_repair import columns_of, create_database, file_damage, is_corruption
from ..sqlite_repair import move_aside as _move_aside
from ..sqlite_repair import schema_problem as _schema_problem

log = get_logger(__name__)

WHAT = "statistics store"


class _DamagedStoreError(sqlite3.DatabaseError):
    """The store opened, but it is damaged or not a statistics store."""


def open_for_writing(path: Path, schema: str,
                     connect: Callable[[], sqlite3.Connection]) -> sqlite3.Connection:
    """A connection from ``connect()`` to the store at ``path`` with ``schema``: a damaged
    store is first moved aside and a missing one created; one found damaged only once open
    (its schema, a corrupt page) is moved aside and rebuilt, once."""
    make_private_dirs(path.parent)
    problem, seen = damage_of(path)
    if problem is not None:
        move_aside(path, problem, expected=seen)
    try:
        return _connect_checked(path, schema, connect)
    except _DamagedStoreError as exc:
        move_aside(path, str(exc))
    return _connect_checked(path, schema, connect)  # failing again is not ours to repair


def _connect_checked(path: Path, schema: str,
                     connect: Callable[[], sqlite3.Connection]) -> sqlite3.Connection:
    create_database(path, schema)
    db = connect()
    try:
        db.execute("PRAGMA journal_mode=WAL")
        problem = schema_problem(db, schema)
        if problem is None:
            db.executescript(schema)  # a store of an older layout gains new tables
            return db
    except sqlite3.DatabaseError as exc:
        db.close()
        if is_corruption(exc):
            raise _DamagedStoreError(str(exc)) from exc
        raise
    db.close()
    raise _DamagedStoreError(problem)


def damage_of(path: Path) -> tuple[str | None, os.stat_result | None]:
    """Why the store at ``path`` is unusable (None when it is sound or absent), and its stat
    when it was judged (so that a store another process has just rebuilt is not moved)."""
    try:
        seen = path.stat()
    except FileNotFoundError:
        return None, None
    if path.is_file() and seen.st_size == 0:
        # Never a store being made: create_database links a whole one into place.
        return f"{path.name} is empty", seen
    return file_damage(path), seen


def move_aside(path: Path, problem: str, *, expected: os.stat_result | None = None) -> None:
    """Rename the damaged store (with its ``-wal``/``-shm``) out of the way, with one WARNING."""
    _move_aside(path, problem, what=WHAT, expected=expected, logger=log)


def schema_problem(db: sqlite3.Connection, schema: str) -> str | None:
    """Why the open database ``db`` is not a statistics store of ``schema``, or None."""
    return _schema_problem(db, _expected_columns(schema), what=WHAT)


@cache
def _expected_columns(schema: str) -> dict[str, frozenset[str]]:
    with closing(sqlite3.connect(":memory:")) as db:
        db.executescript(schema)
        return columns_of(db)
