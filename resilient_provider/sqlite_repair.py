"""Finding a damaged SQLite file before it is used, and moving it aside whole.

Both local stores (the disk cache's ``cache.db`` and the statistics store) are worth less
than the run that would fail on them: a damaged file is renamed to ``<name>.corrupt-<UTC
stamp>`` (kept for inspection, with its ``-wal`` and ``-shm``) and a fresh one is started. The
``-wal`` is never deleted on its own, since it may hold the only good copy of pages.

What counts as damage, checked without writing anything: a file that is not a database
(garbage, truncated below its header), a ``-wal`` that is not a WAL (SQLite silently ignores
one with a bad header, and with it any good pages it might have held), and a failing
``PRAGMA quick_check`` (garbage in the middle pages opens fine and fails later reads). A
database that is merely busy or unreadable is not damage.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Mapping
from contextlib import closing, suppress
from datetime import UTC, datetime
from pathlib import Path

from .logs import RequestLogger, get_logger
from .private_files import touch_private_file

_log = get_logger(__name__)

#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"

#: The two magic numbers a WAL file starts with (big- and little-endian checksums).
WAL_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")

#: A WAL header is 32 bytes: a shorter non-empty ``-wal`` was cut or is garbage.
WAL_HEADER_BYTES = 32

#: How long the check waits for a busy database before giving up (and calling it sound).
CHECK_TIMEOUT_S = 0.25


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite said the file is damaged (not merely busy, missing or unwritable)."""
    name = getattr(exc, "sqlite_errorname", "")
    return name == "SQLITE_NOTADB" or name.startswith("SQLITE_CORRUPT")


def header_problem(db: Path) -> str | None:
    """Why ``db`` (an existing, non-empty file) is not a SQLite database, or None."""
    with db.open("rb") as file:
        head = file.read(len(SQLITE_HEADER))
    if head != SQLITE_HEADER:
        return f"{db.name} is not a SQLite database (bad header)"
    return None


def wal_problem(db: Path) -> str | None:
    """Why the ``-wal`` beside ``db`` is garbage, or None when it is absent, empty or a WAL."""
    wal = db.with_name(db.name + "-wal")
    try:
        with wal.open("rb") as file:
            head = file.read(WAL_HEADER_BYTES)
    except FileNotFoundError:
        return None
    if not head:
        return None
    if len(head) < WAL_HEADER_BYTES or head[:4] not in WAL_MAGICS:
        return f"{wal.name} is not a SQLite WAL file"
    return None


def quick_check_problem(db: Path) -> str | None:
    """What ``PRAGMA quick_check`` found wrong with ``db``, or None (also when it is busy)."""
    try:
        # The file exists (callers check): connecting creates nothing but a WAL database's
        # -wal and -shm, with the database file's own permissions.
        with closing(sqlite3.connect(db, timeout=CHECK_TIMEOUT_S)) as con:
            rows = con.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            return str(exc)
        # Busy or unreadable is not damage: let the opener report what it finds.
        _log.warning("could not check database %s, opening it unchecked: %s", db, exc)
        return None
    if rows == [("ok",)]:
        return None
    # One line, and short: SQLite lists every bad cell, each on a line of its own.
    found = "; ".join(str(row[0]) for row in rows[:3]).replace("\n", "; ")
    return "quick_check: " + (found if len(found) <= 200 else found[:200] + "…")


def file_damage(db: Path) -> str | None:
    """Why the database file ``db`` is unusable, or None when it is sound or absent.

    An empty file is left to the caller: whether it is damage depends on how the store is
    created (see :func:`move_aside`'s callers).
    """
    if not db.exists():
        return None
    if db.is_dir():
        return f"{db.name} is a directory, not a database file"
    if db.stat().st_size == 0:
        return None
    return header_problem(db) or wal_problem(db) or quick_check_problem(db)


def corrupt_name(path: Path) -> Path:
    """Where a damaged ``path`` is moved: ``<name>.corrupt-<UTC stamp>`` beside it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return path.with_name(f"{path.name}.corrupt-{stamp}")


def move_aside(path: Path, problem: str, *, what: str,
               expected: os.stat_result | None = None,
               logger: RequestLogger | None = None) -> Path | None:
    """Rename the damaged ``path`` (a file with its ``-wal``/``-shm``, or a directory) out of
    the way with one WARNING naming it; return where it went, None if it was already gone.

    Args:
        path: the database file or the cache directory.
        problem: why it is damaged (for the WARNING).
        what: what it is, for the WARNING ("statistics store", "cache").
        expected: ``path``'s stat when the damage was found: when ``path`` is now another
            file (another process moved it aside and started afresh meanwhile), it is kept.
        logger: where the WARNING goes (the caller's module logger); default: this module's.
    """
    log = logger if logger is not None else _log
    if expected is not None:
        try:
            now = path.stat()
        except FileNotFoundError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (expected.st_dev, expected.st_ino):
            log.warning("%s at %s is damaged (%s); already moved aside", what, path, problem)
            return None
    target = corrupt_name(path)
    try:
        path.rename(target)
    except FileNotFoundError:
        # Another process got there first; what it left behind is a fresh start too.
        log.warning("%s at %s is damaged (%s); already moved aside", what, path, problem)
        return None
    if not target.is_dir():
        for suffix in ("-wal", "-shm"):
            companion = path.with_name(path.name + suffix)
            with suppress(FileNotFoundError):
                companion.rename(target.with_name(target.name + suffix))
    log.warning("%s at %s is damaged (%s); moved it to %s and starting empty",
                what, path, problem, target)
    return target


def create_database(path: Path, script: str = "") -> None:
    """Create the SQLite database ``path`` (running ``script`` in it) unless one is there:
    user-only (0o600; SQLite gives its ``-wal`` and ``-shm`` the same mode), in WAL mode, built
    under a temporary name and linked into place whole. So no process ever opens a half-made
    database, and an empty file at ``path`` always means damage."""
    if path.exists():
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    touch_private_file(temporary)
    try:
        with closing(sqlite3.connect(temporary, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")  # writes the first page: never 0 bytes
            if script:
                db.executescript(script)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process linked its database first: that one is used
        except OSError:
            # No hard links on this file system: a rename, which could replace a database
            # another process has just linked, so only when there is still none.
            if not path.exists():
                os.replace(temporary, path)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + "-wal"),
                         temporary.with_name(temporary.name + "-shm")):
            with suppress(FileNotFoundError):
                leftover.unlink()


def columns_of(db: sqlite3.Connection) -> dict[str, frozenset[str]]:
    """Each table of the open database ``db`` with its column names."""
    names = [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: frozenset(row[1] for row in db.execute(f'PRAGMA table_info("{name}")'))
            for name in names}


def schema_problem(db: sqlite3.Connection, expected: Mapping[str, frozenset[str]],
                   *, what: str) -> str | None:
    """Why the open database ``db`` is not a ``what`` with the ``expected`` tables and columns:
    only another program's tables, or one of ours with columns missing. None for ours or an
    empty database (tables missing altogether are the opener's to create)."""
    tables = columns_of(db)
    if tables and not tables.keys() & expected.keys():
        return f"not a {what} (tables: {', '.join(sorted(tables)[:5])})"
    for table, columns in expected.items():
        missing = columns - tables.get(table, columns)
        if missing:
            return f"table {table} lacks columns {', '.join(sorted(missing))}"
    return None
