"""Opening diskcache in a directory only its user can read, without waiting long on a lock.

A damaged database is moved aside whole first (:func:`open_repaired_cache`). The directory
(and any missing parent) is created 0o700 and the database 0o600 (its ``-wal``
and ``-shm`` take its mode), whatever the umask. Opening writes diskcache's settings, and
diskcache retries a locked database for 60 s there whatever its ``timeout``:
:class:`BoundedOpenCache` bounds that wait, so a cache held by another process fails to open
(and the run goes on without it) instead of blocking the façade's construction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import DBNAME

from ..private_files import make_private_dirs
from ..sqlite_repair import create_database
from .disk_repair import damage_of, is_corruption, move_aside


def open_repaired_cache(directory: Path, *, open_timeout_s: float,
                        **settings: Any) -> diskcache.Cache:
    """:func:`open_private_cache`, first moving a damaged directory aside (see
    :mod:`.disk_repair`): found damaged on disk, or when SQLite says so while opening."""
    problem = damage_of(directory)
    if problem is None:
        try:
            return open_private_cache(directory, open_timeout_s=open_timeout_s, **settings)
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            problem = str(exc)
    move_aside(directory, problem)
    return open_private_cache(directory, open_timeout_s=open_timeout_s, **settings)


def open_private_cache(directory: Path, *, open_timeout_s: float,
                       **settings: Any) -> diskcache.Cache:
    """A :class:`BoundedOpenCache` in ``directory`` (created user-only if missing) with
    diskcache ``settings``; database files it creates are made user-only."""
    make_private_dirs(directory)
    # Created whole and user-only before diskcache opens it: SQLite would create it 0o644
    # under the usual umask, and empty for a moment (which the damage check could not tell
    # from a truncated database).
    create_database(directory / DBNAME)
    return BoundedOpenCache(str(directory), open_timeout_s=open_timeout_s, **settings)


class BoundedOpenCache(diskcache.Cache):  # type: ignore[misc]  # diskcache ships no type hints
    """A :class:`diskcache.Cache` whose opening waits at most ``open_timeout_s`` for the lock.

    diskcache writes its settings on every open through ``_sql_retry``, which retries a
    locked database for 60 s regardless of ``timeout``; this bounds those retries.
    """

    def __init__(self, directory: str, *, open_timeout_s: float, **settings: Any) -> None:
        self._open_timeout_s = open_timeout_s
        super().__init__(directory, **settings)

    @property
    def _sql_retry(self) -> Callable[..., Any]:
        sql = self._sql
        give_up_at = time.monotonic() + self._open_timeout_s

        def execute_with_retry(statement: str, *args: Any, **kwargs: Any) -> Any:
            while True:
                try:
                    return sql(statement, *args, **kwargs)
                except sqlite3.OperationalError as exc:
                    if str(exc) != "database is locked" or time.monotonic() > give_up_at:
                        raise
                    time.sleep(0.001)  # diskcache's own retry step: a real wait on another process

        return execute_with_retry
