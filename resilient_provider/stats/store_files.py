"""The statistics store's file: found damaged and moved aside, or created private and whole.

Damage is an empty or truncated file, garbage, a garbage ``-wal``, a failing ``quick_check``
(the checks shared with the disk cache, in :mod:`resilient_provider.sqlite_repair`), another
program's tables or ours with columns missing, or a directory at the path. A new store is
created 0o600 (SQLite gives its ``-wal`` and ``-shm`` the same mode) under missing parents
made 0o700, and linked into place whole, so its path never holds a half-made (empty) file.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable
from contextlib import closing, suppress
from functools import cache
from pathlib import Path

from ..logs import get_logger
from ..private_files import make_private_dirs, touch_private_file
from ..sqlite_repair import file_damage, is_corruption
from ..sqlite_repair import move_aside as _move_aside

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
    create_store(path, schema)
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
        # Never a store being made: create_store links a whole one into place.
        return f"{path.name} is empty", seen
    return file_damage(path), seen


def move_aside(path: Path, problem: str, *, expected: os.stat_result | None = None) -> None:
    """Rename the damaged store (with its ``-wal``/``-shm``) out of the way, with one WARNING."""
    _move_aside(path, problem, what=WHAT, expected=expected, logger=log)


def create_store(path: Path, schema: str) -> None:
    """Create the store at ``path`` with ``schema`` unless one is there: user-only (0o600),
    in WAL mode, built under a temporary name and linked into place, so that no process ever
    opens a half-made store (and an empty file at ``path`` always means damage)."""
    if path.exists():
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    touch_private_file(temporary)
    try:
        with closing(sqlite3.connect(temporary, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(schema)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process linked its store first: that one is used
        except OSError:
            # No hard links on this file system: a rename, which could replace a store
            # another process has just linked, so only when there is still none.
            if not path.exists():
                os.replace(temporary, path)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + "-wal"),
                         temporary.with_name(temporary.name + "-shm")):
            with suppress(FileNotFoundError):
                leftover.unlink()


def schema_problem(db: sqlite3.Connection, schema: str) -> str | None:
    """Why the database open on ``db`` is not a statistics store of ``schema``: another
    program's tables, or ours with columns missing. None for ours, or an empty database
    (tables of ``schema`` missing from an older layout are added by the caller)."""
    tables = _columns(db)
    expected = _expected_columns(schema)
    if tables and not tables.keys() & expected.keys():
        return f"not a statistics store (tables: {', '.join(sorted(tables)[:5])})"
    for table, columns in expected.items():
        missing = columns - tables.get(table, columns)
        if missing:
            return f"table {table} lacks columns {', '.join(sorted(missing))}"
    return None


def _columns(db: sqlite3.Connection) -> dict[str, frozenset[str]]:
    names = [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: frozenset(row[1] for row in db.execute(f'PRAGMA table_info("{name}")'))
            for name in names}


@cache
def _expected_columns(schema: str) -> dict[str, frozenset[str]]:
    with closing(sqlite3.connect(":memory:")) as db:
        db.executescript(schema)
        return _columns(db)
