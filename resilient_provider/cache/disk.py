"""The default cache backend: diskcache (SQLite), JSON only, never pickle.

diskcache pickles by default; :class:`~.json_disk.JsonOnlyDisk` stores and reads bytes only,
all inline in SQLite, and refuses pickled rows and keys outright. A damaged database is moved
aside whole on open and a fresh one started (:mod:`.disk_repair`); the directory is user-only
(:mod:`.disk_open`).

Every wait is short (:data:`DEFAULT_TIMEOUT_S` on another process's lock, :data:`QUEUE_TIMEOUT_S`
behind this process's writes, :data:`OPEN_TIMEOUT_S` to open): a cache is an optimisation, so
a write that cannot get the lock fails with :class:`diskcache.Timeout` (the strategy counts it
and carries on) instead of holding a call past its deadline, as diskcache's 60 s did.

The negative cache's rows (:mod:`.not_found`) live in the same database under keys of their
own (:func:`~.base.not_found_key`), which no read of entries asks for.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import diskcache

from ..logs import get_logger
from .base import (
    NOT_FOUND_PREFIX,
    CacheEntry,
    cache_key,
    decode_entry,
    encode_entry,
)
from .disk_inventory import DiskInventory
from .disk_not_found import DiskNotFoundRows
from .disk_open import open_repaired_cache
from .disk_rows import read_rows, remove_orphaned_files, stored_keys
from .group_commit import GroupCommit
from .json_disk import JsonOnlyDisk, RefusedRowError
from .not_found import decode_not_found

log = get_logger(__name__)

#: Rows checked per write transaction in :meth:`DiskCache.prune`: bounds others' waits.
_PRUNE_BATCH = 100

#: Seconds a write waits for another process's lock (then it is skipped): under a second, so a
#: locked cache never holds a call past its deadline. 4 processes x 4 threads writing flat out
#: saw 2 timeouts in 10,000 writes at 0.25 s, none at 0.5 s (SQLite's busy handler sleeps).
DEFAULT_TIMEOUT_S = 0.5

#: Seconds a write waits behind this process's other writes to the cache (~1 ms each).
QUEUE_TIMEOUT_S = 1.0

#: Seconds opening the cache may wait for the write lock (opening writes diskcache's settings)
#: before it fails and the façade runs without a cache.
OPEN_TIMEOUT_S = 1.0


class DiskCache(DiskNotFoundRows, DiskInventory):
    """A :class:`~resilient_provider.cache.base.CacheBackend` on diskcache, safe across processes.

    Each entry is the JSON of :func:`~resilient_provider.cache.base.encode_entry` under
    :func:`~resilient_provider.cache.base.cache_key`. diskcache's ``expire`` is set to
    ``ttl_s`` only to bound how long a row is kept: diskcache hides expired rows, so freshness
    is judged by callers from ``fetched_at``. A row that cannot be read (garbage, a refused
    pickle, an older schema) is logged at WARNING, deleted and reported as missing.

    On open, a damaged database (:func:`.disk_repair.damage_of`) has its whole directory
    renamed to ``<dir>.corrupt-<UTC stamp>``, and a fresh cache is created in its place.

    Args:
        directory: the cache directory (created if missing).
        ttl_s: seconds a row is kept after it is written (the maximum stale age); None keeps
            rows until pruned or evicted by size.
        size_limit_bytes: diskcache's size limit; the oldest stored rows go first beyond it.
        timeout_s: how long a write waits for another process's lock before it fails with
            :class:`diskcache.Timeout`.
        queue_s: how long a write waits for the other threads' writes through this cache.
        open_timeout_s: how long opening waits for the write lock before it fails.

    Raises:
        OSError, sqlite3.Error, diskcache.Timeout: the cache cannot be opened (the path is a
            file, not writable, the disk is full, the database stayed locked).
    """

    def __init__(self, directory: str | os.PathLike[str], *, ttl_s: float | None = 7 * 86400,
                 size_limit_bytes: int = 1 << 30, timeout_s: float = DEFAULT_TIMEOUT_S,
                 queue_s: float = QUEUE_TIMEOUT_S, open_timeout_s: float = OPEN_TIMEOUT_S
                 ) -> None:
        if ttl_s is not None and ttl_s < 0:
            raise ValueError(f"ttl_s must be >= 0 or None (ttl_s={ttl_s!r})")
        if size_limit_bytes <= 0:
            raise ValueError(f"size_limit_bytes must be > 0 (got {size_limit_bytes!r})")
        self._directory = Path(directory).expanduser()
        self._ttl_s = ttl_s
        self._size_limit_bytes = size_limit_bytes
        self._timeout_s = timeout_s
        self._open_timeout_s = open_timeout_s
        self._queue_s = queue_s
        self._write_lock = threading.RLock()
        self._writes = GroupCommit(self._write_lock, self._commit, busy=(diskcache.Timeout,))
        # diskcache's settings pinned so a setting stored by another opener cannot put every
        # read on its slower, locking path (statistics and usage-based eviction write on get).
        self._cache = open_repaired_cache(
            self._directory, open_timeout_s=open_timeout_s, timeout=timeout_s,
            disk=JsonOnlyDisk, size_limit=size_limit_bytes,
            eviction_policy="least-recently-stored", statistics=0)

    @property
    def directory(self) -> Path:
        """The cache directory."""
        return self._directory

    def get(self, symbol: str) -> CacheEntry | None:
        """The entry for ``symbol``, or None (also for an unreadable row, which is deleted)."""
        key = cache_key(symbol)
        try:
            waiting = self._writes.pending_many([key])
            raw = waiting[key][0] if waiting else self._cache.get(key)
            return None if raw is None else self._entry(raw)
        except RefusedRowError as exc:
            self._drop(key, exc)
            return None

    def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        """Entries for those ``symbols`` that have a readable one, in the order asked (up to
        :data:`.disk_rows.READ_BATCH` keys per query)."""
        wanted = {cache_key(symbol): symbol for symbol in dict.fromkeys(symbols)}
        found: dict[str, CacheEntry] = {}
        for key, raw in self._read_with_pending(list(wanted)).items():
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
            OSError, sqlite3.Error: the write failed (the entry stays pending: see
                :meth:`set_many`).
        """
        self.set_many({symbol: CacheEntry(data=dict(data), fetched_at=fetched_at,
                                          provider=provider)})

    def set_many(self, entries: Mapping[str, CacheEntry]) -> None:
        """Store several entries in one transaction: all of them or, on an error, none.

        Written by this thread, or, while another thread of this process writes, by that one
        before it lets go of the cache (:mod:`.group_commit`): either way this process reads
        them back at once. A write that finds the database locked by other processes keeps
        them pending for the next write (or :meth:`close`) instead of failing.

        Raises:
            TypeError: an entry holds something JSON cannot represent (nothing is stored).
            OSError, sqlite3.Error: the write failed otherwise (a full disk); the entries stay
                pending, up to :data:`.group_commit.MAX_PENDING_ROWS`.
        """
        # Encode first so a bad entry fails before anything is queued.
        rows = {cache_key(symbol): (encode_entry(entry), self._ttl_s)
                for symbol, entry in entries.items()}
        if rows:
            self._writes.submit(rows)

    def delete(self, symbol: str) -> bool:
        """Remove the entry for ``symbol``; True if there was one."""
        key = cache_key(symbol)
        with self._writing():
            pending = bool(self._writes.pending_many([key]))
            self._writes.discard([key])
            return bool(self._cache.delete(key)) or pending

    def clear(self) -> None:
        """Remove every row (negative-cache rows too), including any this cache would refuse
        to read."""
        with self._writing():
            self._writes.discard()
            self._cache.clear()

    def prune(self, *, older_than: float) -> int:
        """Remove entries fetched (negative-cache rows confirmed) before epoch ``older_than``,
        expired rows and unreadable ones.

        Value files no row points at (an older version's, killed mid-write) are deleted too
        (:func:`.disk_rows.remove_orphaned_files`). Returns how many rows were removed in all.
        """
        with self._writing():
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
        files = remove_orphaned_files(self._cache)
        if files:
            log.info("removed %d orphaned value files (an older version's) from %s", files,
                     self._directory)
        return removed

    def close(self) -> None:
        """Write the entries still pending (waiting up to ``queue_s`` for the lock) and close
        this thread's database connection (diskcache reopens one if used again)."""
        failure = self._writes.write_pending(wait_s=self._queue_s)
        left = self._writes.waiting
        if left:
            log.warning("closing %s with %d cache writes not stored (%s)", self._directory,
                        left, failure or "the database stayed locked")
        self._cache.close()

    def __repr__(self) -> str:
        return f"DiskCache({str(self._directory)!r}, ttl_s={self._ttl_s!r})"

    # -- rows -------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """diskcache's ``transact()``, with the deletion of replaced value files (an older
        version's: see :mod:`.json_disk`) held back until it has committed."""
        disk: JsonOnlyDisk = self._cache.disk
        with self._writing(), disk.deferring_removals(), self._cache.transact():
            yield

    def _commit(self, rows: Mapping[str, tuple[bytes, float | None]]) -> None:
        """Write ``rows`` (the group commit's batch; the write lock is held): one row by
        diskcache's own atomic ``set``, more in one transaction."""
        if len(rows) == 1:
            [(key, (raw, expire))] = rows.items()
            self._cache.set(key, raw, expire=expire)
            return
        disk: JsonOnlyDisk = self._cache.disk
        with disk.deferring_removals(), self._cache.transact():
            for key, (raw, expire) in rows.items():
                self._cache.set(key, raw, expire=expire)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold this cache's write lock (:class:`diskcache.Timeout` after ``queue_s``) for a
        delete, a clear, a prune or negative-cache rows; entries left pending meanwhile by
        other threads are written before it is released (:mod:`.group_commit`).

        Threads of one process queue here rather than in SQLite, whose busy handler polls
        with sleeps that grow to 100 ms. Reentrant: an unreadable row is dropped inside a
        prune.
        """
        if not self._write_lock.acquire(timeout=self._queue_s):
            raise diskcache.Timeout(f"{self._directory}: no write turn within {self._queue_s}s")
        try:
            with self._writes.holding():
                yield
        finally:
            self._write_lock.release()
        self._writes.write_pending()  # rows left while the lock was being let go

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
        """The bytes stored under those ``keys`` that have a live row, in the order asked
        (see :func:`.disk_rows.read_rows`); unreadable rows are dropped."""
        found, refused = read_rows(self._cache, keys)
        for key, reason in refused.items():
            self._drop(key, reason)
        return found

    def _read_with_pending(self, keys: list[str]) -> dict[str, bytes]:
        """:meth:`_read`, with the rows this process has yet to write taking precedence."""
        stored = self._read(keys)
        waiting = self._writes.pending_many(keys)
        if not waiting:
            return stored
        stored.update({key: raw for key, (raw, _) in waiting.items()})
        return {key: stored[key] for key in keys if key in stored}

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
            with self._writing():
                self._cache.delete(key)
        except diskcache.Timeout:
            log.debug("could not delete unreadable row %s (database busy)", key)

    def _keys(self) -> list[str]:
        """Every ``str`` key stored (see :func:`.disk_rows.stored_keys`)."""
        return stored_keys(self._cache)
