"""Listing the disk cache (a :class:`~.inventory.CacheInventory`): a part of
:class:`~.disk.DiskCache`, kept apart to keep that module small.

Keys are read straight from diskcache's table (:func:`.disk_rows.stored_keys`, which skips
pickled keys), then their rows in slices of :data:`.disk_rows.READ_BATCH` through the same
path as ``get_many`` (pickles refused, unreadable rows dropped with a WARNING), with the rows
this process has yet to write taking precedence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import NOT_FOUND_PREFIX, CacheEntry, decode_entry
from .disk_rows import READ_BATCH, stored_keys
from .group_commit import GroupCommit
from .inventory import ENTRY_PREFIX, symbol_of_entry_key
from .json_disk import RefusedRowError
from .not_found import NotFoundEntry, decode_not_found


class DiskInventory:
    """The :class:`~.inventory.CacheInventory` methods of :class:`~.disk.DiskCache`."""

    _cache: Any  # diskcache.Cache
    _writes: GroupCommit

    def entries(self) -> Iterator[tuple[str, CacheEntry]]:
        """``(symbol, entry)`` for every readable entry of this schema still kept."""
        for key, raw in self._rows_under(ENTRY_PREFIX):
            symbol, entry = symbol_of_entry_key(key), decode_entry(raw)
            if entry is None:
                self._drop(key, RefusedRowError("not a cache entry (garbage or an older schema)"))
            elif symbol is not None:
                yield symbol, entry

    def not_found_entries(self) -> Iterator[NotFoundEntry]:
        """Every readable negative-cache row still kept (expired ones are not)."""
        for key, raw in self._rows_under(NOT_FOUND_PREFIX):
            row = decode_not_found(raw)
            if row is None or key != NOT_FOUND_PREFIX + row.symbol:
                self._drop(key, RefusedRowError("not a negative-cache row"))
            else:
                yield row

    def _rows_under(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        """``(key, bytes)`` of every live row whose key starts with ``prefix``, a slice of keys
        at a time; the pending ones included."""
        keys = {key: None for key in stored_keys(self._cache) if key.startswith(prefix)}
        keys.update({key: None for key in self._writes.pending_keys() if key.startswith(prefix)})
        ordered = list(keys)
        for start in range(0, len(ordered), READ_BATCH):
            yield from self._read_with_pending(ordered[start:start + READ_BATCH]).items()

    # Provided by DiskCache.
    def _read_with_pending(self, keys: list[str]) -> dict[str, bytes]:
        raise NotImplementedError

    def _drop(self, key: str, reason: RefusedRowError) -> None:
        raise NotImplementedError
