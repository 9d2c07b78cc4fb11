"""diskcache's storage layer restricted to bytes: no row is ever unpickled.

diskcache pickles by default, and even its ``JSONDisk`` unpickles a row whose mode flag says
pickle, so a row planted in the cache directory could run code. :class:`JsonOnlyDisk` stores
and reads bytes only and refuses pickled rows and keys outright.
"""

from __future__ import annotations

from typing import Any

import diskcache
from diskcache.core import MODE_BINARY, MODE_PICKLE, MODE_RAW, MODE_TEXT, UNKNOWN

_MODE_NAMES = {MODE_RAW: "raw", MODE_BINARY: "binary", MODE_TEXT: "text", MODE_PICKLE: "pickle"}


class RefusedRowError(ValueError):
    """A stored row or key this cache will not read: pickled, not bytes, or not an entry."""


class JsonOnlyDisk(diskcache.Disk):  # type: ignore[misc]  # diskcache ships no type hints
    """A :class:`diskcache.Disk` that keeps ``str`` keys and ``bytes`` values, never pickle.

    Values below diskcache's ``disk_min_file_size`` (32 KiB) are stored inline in SQLite
    (``MODE_RAW``), larger ones in value files (``MODE_BINARY``); both come back as bytes.
    Any other row (pickle, text, a raw number) is refused with :class:`RefusedRowError`
    before anything is deserialised.
    """

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
        return super().store(value, read, key=key)  # type: ignore[no-any-return]

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        """The bytes of a raw or binary row; every other mode is refused, never unpickled."""
        if mode == MODE_RAW and isinstance(value, bytes):
            return value
        if mode == MODE_BINARY and filename is not None:
            return super().fetch(mode, filename, value, read)
        name = _MODE_NAMES.get(mode, str(mode))
        where = "in a value file" if filename is not None else "inline"
        raise RefusedRowError(f"refused a stored {name} row ({where})")
