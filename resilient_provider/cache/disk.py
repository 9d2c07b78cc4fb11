"""The default cache backend: diskcache (SQLite plus value files), JSON only, never pickle.

diskcache pickles by default; :class:`~.json_disk.JsonOnlyDisk` stores and reads bytes only
and refuses pickled rows and keys outright.

A damaged database is moved aside whole on open (renamed to ``<dir>.corrupt-<UTC stamp>``)
and a fresh one started (see :mod:`.disk_repair`).

Every wait on the database is short (:data:`DEFAULT_TIMEOUT_S` per write, :data:`OPEN_TIMEOUT_S`
to open): a cache is an optimisation, so another process holding the write lock makes a write
fail with :class:`diskcache.Timeout` (the strategy counts it and carries on) instead of holding
a call past its deadline. diskcache's own default is 60 s, and its opening retries for 60 s
whatever the timeout.

The directory is created user-only (0o700) and the database files 0o600, whatever the umask.

The negative cache's rows (:mod:`.not_found`) live in the same database under keys of their
own (:func:`~.base.not_found_key`), which no read of entries asks for.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import DBNAME

from ..logs import get_logger
from ..private_files import PRIVATE_FILE_MODE, make_private_dirs
from .base import (
    NOT_FOUND_PREFIX,
    CacheEntry,
    cache_key,
    decode_entry,
    encode_entry,
    not_found_key,
)
from .disk_repair import damage_of, is_corruption, move_aside
from .json_disk import JsonOnlyDisk, RefusedRowError
from .not_found import NotFoundEntry, decode_not_found, encode_not_found

log = get_logger(__name__)

#: Keys per query of :meth:`DiskCache._read` (entries and negative-cache rows): well below
#: SQLite's oldest limit on query parameters (999).
_READ_BATCH = 500

#: Rows checked per write transaction in :meth:`DiskCache.prune`: bounds how long other
#: writers (threads or processes) wait on the lock.
_PRUNE_BATCH = 100

#: Seconds a write waits for another writer's lock before giving up (a skipped write): well
#: under a second, so a cache held by another process never holds a call past its deadline.
DEFAULT_TIMEOUT_S = 0.25

#: Seconds opening the cache may wait for the write lock (opening writes diskcache's settings)
#: before it fails and the façade runs without a cache.
OPEN_TIMEOUT_S = 1.0


class DiskCache:
    """A :class:`~resilient_provider.cache.base.CacheBackend` on diskcache, safe across processes.

    Each entry is the JSON of :func:`~resilient_provider.cache.base.encode_entry` under
    :func:`~resilient_provider.cache.base.cache_key`. diskcache's ``expire`` is set to
    ``ttl_s`` only to bound how long a row is kept: diskcache hides expired rows, so freshness
    is judged by callers from ``fetched_at``. A row that cannot be read (garbage, a refused
    pickle, an older schema) is logged at WARNING, deleted and reported as missing.

    On open, ``PRAGMA quick_check`` runs on the database; if it fails, or opening reports a
    corrupt file, the whole directory is renamed to ``<dir>.corrupt-<UTC stamp>`` and a fresh
    cache is created in its place.

    Args:
        directory: the cache directory (created if missing).
        ttl_s: seconds a row is kept after it is written (the maximum stale age); None keeps
            rows until pruned or evicted by size.
        size_limit_bytes: diskcache's size limit; the oldest stored rows go first beyond it.
        timeout_s: how long a write waits for another writer's lock before it fails with
            :class:`diskcache.Timeout`.
        open_timeout_s: how long opening waits for the write lock before it fails.

    Raises:
        OSError, sqlite3.Error, diskcache.Timeout: the cache cannot be opened (the path is a
            file, not writable, the disk is full, the database stayed locked).
    """

    def __init__(self, directory: str | os.PathLike[str], *, ttl_s: float | None = 7 * 86400,
                 size_limit_bytes: int = 1 << 30, timeout_s: float = DEFAULT_TIMEOUT_S,
                 open_timeout_s: float = OPEN_TIMEOUT_S) -> None:
        if ttl_s is not None and ttl_s < 0:
            raise ValueError(f"ttl_s must be >= 0 or None (ttl_s={ttl_s!r})")
        if size_limit_bytes <= 0:
            raise ValueError(f"size_limit_bytes must be > 0 (got {size_limit_bytes!r})")
        self._directory = Path(directory).expanduser()
        self._ttl_s = ttl_s
        self._size_limit_bytes = size_limit_bytes
        self._timeout_s = timeout_s
        self._open_timeout_s = open_timeout_s
        self._cache = self._open()

    @property
    def directory(self) -> Path:
        """The cache directory."""
        return self._directory

    def get(self, symbol: str) -> CacheEntry | None:
        """The entry for ``symbol``, or None (also for an unreadable row, which is deleted)."""
        key = cache_key(symbol)
        try:
            return self._load(key)
        except RefusedRowError as exc:
            self._drop(key, exc)
            return None

    def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        """Entries for those ``symbols`` that have a readable one, in the order asked (up to
        :data:`_READ_BATCH` keys per query: see :meth:`_read`)."""
        wanted = {cache_key(symbol): symbol for symbol in dict.fromkeys(symbols)}
        found: dict[str, CacheEntry] = {}
        for key, raw in self._read(list(wanted)).items():
            try:
                found[wanted[key]] = self._entry(raw)
            except RefusedRowError as exc:
                self._drop(key, exc)
        return found

    def set(self, symbol: str, data: Mapping[str, Any], *, fetched_at: float,
            provider: str) -> None:
        """Store ``data`` for ``symbol`` as fetched at epoch ``fetched_at`` by ``provider``.

        Raises:
            TypeError: ``data`` holds something JSON cannot represent (orjson's error).
            diskcache.Timeout: the database stayed locked by other writers.
        """
        entry = CacheEntry(data=dict(data), fetched_at=fetched_at, provider=provider)
        self._cache.set(cache_key(symbol), encode_entry(entry), expire=self._ttl_s)

    def set_many(self, entries: Mapping[str, CacheEntry]) -> None:
        """Store several entries in one transaction: all of them or, on an error, none."""
        # Encode first so a bad entry fails before the write lock is taken.
        rows = [(cache_key(symbol), encode_entry(entry)) for symbol, entry in entries.items()]
        if len(rows) <= 1:  # one row: diskcache's own set is atomic, without an outer lock
            for key, raw in rows:
                self._cache.set(key, raw, expire=self._ttl_s)
            return
        with self._transaction():
            for key, raw in rows:
                self._cache.set(key, raw, expire=self._ttl_s)

    def get_not_found(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        """Negative-cache rows of those ``symbols`` that have a readable one (see
        :mod:`.not_found`), read as :meth:`get_many` reads entries."""
        wanted = {not_found_key(symbol): symbol for symbol in dict.fromkeys(symbols)}
        found: dict[str, NotFoundEntry] = {}
        for key, raw in self._read(list(wanted)).items():
            row = decode_not_found(raw)
            if row is None or row.symbol != wanted[key]:
                self._drop(key, RefusedRowError("not a negative-cache row"))
            else:
                found[row.symbol] = row
        return found

    def set_not_found(self, entries: Sequence[NotFoundEntry], *, keep_s: float) -> None:
        """Store negative-cache rows in one transaction, each kept ``keep_s`` seconds."""
        rows = [(not_found_key(entry.symbol), encode_not_found(entry)) for entry in entries]
        if not rows:
            return
        with self._transaction():
            for key, raw in rows:
                self._cache.set(key, raw, expire=keep_s)

    def delete_not_found(self, symbols: Sequence[str]) -> None:
        """Remove the negative-cache rows of ``symbols``, in one transaction."""
        if not symbols:
            return
        with self._transaction():
            for symbol in symbols:
                self._cache.delete(not_found_key(symbol))

    def delete(self, symbol: str) -> bool:
        """Remove the entry for ``symbol``; True if there was one."""
        return bool(self._cache.delete(cache_key(symbol)))

    def clear(self) -> None:
        """Remove every row (negative-cache rows too), including any this cache would refuse
        to read."""
        self._cache.clear()

    def prune(self, *, older_than: float) -> int:
        """Remove entries fetched (negative-cache rows confirmed) before epoch ``older_than``,
        expired rows and unreadable ones.

        Returns how many rows were removed in all.
        """
        removed = int(self._cache.expire())
        keys = self._keys()
        for start in range(0, len(keys), _PRUNE_BATCH):
            # Read and delete under one lock, so an entry refreshed meanwhile is not lost.
            with self._transaction():
                for key in keys[start:start + _PRUNE_BATCH]:
                    try:
                        written_at = self._written_at(key)
                    except RefusedRowError as exc:
                        self._drop(key, exc)
                        removed += 1
                        continue
                    if written_at is not None and written_at < older_than:
                        removed += int(bool(self._cache.delete(key)))
        return removed

    def close(self) -> None:
        """Close this thread's database connection (diskcache reopens one if used again)."""
        self._cache.close()

    def __repr__(self) -> str:
        return f"DiskCache({str(self._directory)!r}, ttl_s={self._ttl_s!r})"

    # -- rows -------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """diskcache's ``transact()``, with the deletion of replaced value files (an older
        version's: see :mod:`.json_disk`) held back until it has committed."""
        disk: JsonOnlyDisk = self._cache.disk
        with disk.deferring_removals(), self._cache.transact():
            yield

    def _load(self, key: str) -> CacheEntry | None:
        """The entry under ``key`` or None; :class:`RefusedRowError` for an unreadable row."""
        raw = self._cache.get(key)
        return None if raw is None else self._entry(raw)

    def _written_at(self, key: str) -> float | None:
        """When the row under ``key`` was fetched (an entry) or confirmed (a negative-cache
        row); None when it is gone, :class:`RefusedRowError` when it is unreadable."""
        raw = self._cache.get(key)
        if raw is None:
            return None
        if not key.startswith(NOT_FOUND_PREFIX):
            return self._entry(raw).fetched_at
        row = decode_not_found(raw)
        if row is None:
            raise RefusedRowError("not a negative-cache row")
        return row.confirmed_at

    def _read(self, keys: list[str]) -> dict[str, bytes]:
        """The bytes stored under those ``keys`` that have a live row, in the order asked.

        diskcache has no multi-get and its ``get`` is one query per key, so a warm 500-symbol
        batch would spend most of its time in SQLite round trips. This runs the query of
        diskcache's own fast ``get`` path (the path it takes with statistics off and
        least-recently-stored eviction, both pinned in :meth:`_open_cache`) for up to
        :data:`_READ_BATCH` keys at once, and hands each row to the disk's ``fetch`` as ``get``
        does: same rows, same expiry, same refusal of pickles, a fraction of the time.
        """
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), _READ_BATCH):
            part = keys[start:start + _READ_BATCH]
            marks = ",".join("?" * len(part))
            rows = self._cache._sql(
                "SELECT key, mode, filename, value FROM Cache WHERE raw = 1"
                f" AND key IN ({marks}) AND (expire_time IS NULL OR expire_time > ?)",
                (*part, time.time())).fetchall()
            for key, mode, filename, value in rows:
                try:
                    found[key] = self._cache.disk.fetch(mode, filename, value, False)
                except RefusedRowError as exc:
                    self._drop(key, exc)
                except OSError:
                    pass  # its value file was deleted meanwhile: missing, as for get
        return {key: found[key] for key in keys if key in found}

    @staticmethod
    def _entry(raw: bytes) -> CacheEntry:
        """The entry stored as ``raw``; :class:`RefusedRowError` when it is none."""
        entry = decode_entry(raw)
        if entry is None:
            raise RefusedRowError("not a cache entry (garbage or an older schema)")
        return entry

    def _drop(self, key: str, reason: RefusedRowError) -> None:
        """Log an unreadable row and delete it, so it is reported once, not on every read."""
        log.warning("cache row %s in %s is unreadable, deleted it: %s", key, self._directory,
                    reason)
        try:
            # A valid entry written between the read and this delete is lost too: the cost
            # is one extra fetch later, cheaper than re-reading under a lock on every drop.
            self._cache.delete(key)
        except diskcache.Timeout:
            log.debug("could not delete unreadable row %s (database busy)", key)

    def _keys(self) -> list[str]:
        """Every ``str`` key stored, read straight from diskcache's table.

        diskcache's own iterators would pass a pickled key to :class:`JsonOnlyDisk`, which
        refuses it, so one planted row would stop the whole iteration.
        """
        rows = self._cache._sql("SELECT key FROM Cache WHERE raw = 1").fetchall()
        return [key for (key,) in rows if isinstance(key, str)]

    # -- opening ----------------------------------------------------------------------------

    def _open(self) -> diskcache.Cache:
        """Open the cache, first moving a damaged directory aside."""
        problem = self._damage()
        if problem is None:
            try:
                return self._open_cache()
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    raise
                problem = str(exc)
        move_aside(self._directory, problem)
        return self._open_cache()

    def _open_cache(self) -> diskcache.Cache:
        make_private_dirs(self._directory)
        created = not (self._directory / DBNAME).exists()
        # Pinned so a setting stored by another opener cannot put every read on diskcache's
        # slower, locking path (statistics and usage-based eviction write on each get).
        cache = _BoundedOpenCache(str(self._directory), open_timeout_s=self._open_timeout_s,
                                  timeout=self._timeout_s, disk=JsonOnlyDisk,
                                  size_limit=self._size_limit_bytes,
                                  eviction_policy="least-recently-stored", statistics=0)
        if created:
            _make_private(self._directory)
        return cache

    def _damage(self) -> str | None:
        """Why the database on disk is unusable, or None when it is sound or absent."""
        return damage_of(self._directory)


def _make_private(directory: Path) -> None:
    """Make the database files just created in ``directory`` user-only (0o600): SQLite creates
    them 0o644 under the usual umask. The directory is 0o700 already, so this is a second
    line, for a directory later opened up."""
    for name in (DBNAME, f"{DBNAME}-wal", f"{DBNAME}-shm"):
        with suppress(FileNotFoundError):
            os.chmod(directory / name, PRIVATE_FILE_MODE)


class _BoundedOpenCache(diskcache.Cache):  # type: ignore[misc]  # diskcache ships no type hints
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
