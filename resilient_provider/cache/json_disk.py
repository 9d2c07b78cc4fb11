"""diskcache's storage layer restricted to bytes kept in SQLite: no row is ever unpickled.

diskcache pickles by default, and even its ``JSONDisk`` unpickles a row whose mode flag says
pickle, so a row planted in the cache directory could run code. :class:`JsonOnlyDisk` stores
and reads bytes only and refuses pickled rows and keys outright.

Every value is kept inline in SQLite, never in a value file, so that a write is old-or-new
whatever happens: diskcache writes a value file *before* the transaction that points a row at
it (a kill in between leaves an orphaned file nobody cleans up), and when a ``set`` runs inside
an outer ``transact()`` it deletes the replaced value file as the inner ``set`` returns, before
the outer ``COMMIT`` (a kill or ENOSPC in between leaves the old row pointing at a deleted
file). Inline, each write is one SQLite transaction, atomic by SQLite's own journal. Value
files written by older versions stay readable; their removal is deferred past the commit
(:meth:`JsonOnlyDisk.deferring_removals`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import diskcache
from diskcache.core import MODE_BINARY, MODE_PICKLE, MODE_RAW, MODE_TEXT, UNKNOWN

_MODE_NAMES = {MODE_RAW: "raw", MODE_BINARY: "binary", MODE_TEXT: "text", MODE_PICKLE: "pickle"}


class RefusedRowError(ValueError):
    """A stored row or key this cache will not read: pickled, not bytes, or not an entry."""


class JsonOnlyDisk(diskcache.Disk):  # type: ignore[misc]  # diskcache ships no type hints
    """A :class:`diskcache.Disk` that keeps ``str`` keys and ``bytes`` values, never pickle.

    Values of any size are stored inline in SQLite (``MODE_RAW``, whatever
    ``disk_min_file_size`` says: see the module docstring); value files an older version wrote
    (``MODE_BINARY``) are still read, as bytes. Any other row (pickle, text, a raw number) is
    refused with :class:`RefusedRowError` before anything is deserialised.
    """

    def __init__(self, directory: str, **settings: Any) -> None:
        super().__init__(directory, **settings)
        self._deferred = threading.local()

    def put(self, key: Any) -> tuple[str, bool]:
        """Store a ``str`` key raw; anything else would be pickled, so it is a TypeError."""
        if type(key) is not str:
            raise TypeError(f"cache keys must be str, not {type(key).__name__}")
        return key, True

    def get(self, key: Any, raw: bool) -> Any:
        """The key of a stored row; a pickled key (``raw`` false) is refused unread."""
        if not raw:
            raise RefusedRowError("refused a pickled key")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> tuple[int, int, str | None, Any]:
        """Place ``bytes`` inline or in a value file; anything else is a TypeError."""
        if read or type(value) is not bytes:
            raise TypeError(f"cache values must be bytes, not {type(value).__name__}")
        # The size diskcache would account is that of value files only; SQLite's pages are
        # counted by its volume(), so the size limit still holds for inline values.
        return 0, MODE_RAW, None, sqlite3.Binary(value)

    def remove(self, file_path: str) -> None:
        """Delete an (older version's) value file, or, inside :meth:`deferring_removals` on
        this thread, note it for deletion once the outer transaction has committed."""
        pending: list[str] | None = getattr(self._deferred, "files", None)
        if pending is not None:
            pending.append(file_path)
            return
        super().remove(file_path)

    @contextmanager
    def deferring_removals(self) -> Iterator[None]:
        """Hold back value-file deletions on this thread until the block ends without an error
        (the caller's transaction committed); after an error none are deleted, since the
        rolled-back rows still point at them."""
        pending: list[str] = []
        self._deferred.files = pending
        try:
            yield
        finally:
            self._deferred.files = None
        for file_path in pending:
            super().remove(file_path)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        """The bytes of a raw or binary row; every other mode is refused, never unpickled."""
        if mode == MODE_RAW and isinstance(value, bytes):
            return value
        if mode == MODE_BINARY and filename is not None:
            return super().fetch(mode, filename, value, read)
        name = _MODE_NAMES.get(mode, str(mode))
        where = "in a value file" if filename is not None else "inline"
        raise RefusedRowError(f"refused a stored {name} row ({where})")
