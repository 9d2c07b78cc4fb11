"""The negative cache's rows in the disk cache (see :mod:`.not_found`): a part of
:class:`~.disk.DiskCache`, kept apart to keep that module small.

They live in the same database as the entries, under keys of their own
(:func:`~.base.not_found_key`), written and read as entries are: through the group commit, the
rows still pending first, an unreadable row dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from .base import not_found_key
from .group_commit import GroupCommit
from .json_disk import RefusedRowError
from .not_found import NotFoundEntry, decode_not_found, encode_not_found


class DiskNotFoundRows:
    """The :class:`~.not_found.NotFoundStore` methods of :class:`~.disk.DiskCache`."""

    _cache: Any  # diskcache.Cache
    _writes: GroupCommit

    def get_not_found(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        """Negative-cache rows of those ``symbols`` that have a readable one, read as
        :meth:`~.disk.DiskCache.get_many` reads entries."""
        wanted = {not_found_key(symbol): symbol for symbol in dict.fromkeys(symbols)}
        found: dict[str, NotFoundEntry] = {}
        for key, raw in self._read_with_pending(list(wanted)).items():
            row = decode_not_found(raw)
            if row is None or row.symbol != wanted[key]:
                self._drop(key, RefusedRowError("not a negative-cache row"))
            else:
                found[row.symbol] = row
        return found

    def set_not_found(self, entries: Sequence[NotFoundEntry], *, keep_s: float) -> None:
        """Store negative-cache rows in one transaction, each kept ``keep_s`` seconds."""
        rows = {not_found_key(entry.symbol): (encode_not_found(entry), keep_s)
                for entry in entries}
        if rows:
            self._writes.submit(rows)  # as entries are written: see DiskCache.set_many

    def delete_not_found(self, symbols: Sequence[str]) -> None:
        """Remove the negative-cache rows of ``symbols``, in one transaction."""
        if not symbols:
            return
        keys = [not_found_key(symbol) for symbol in symbols]
        with self._transaction():
            self._writes.discard(keys)
            for key in keys:
                self._cache.delete(key)

    # Provided by DiskCache.
    def _read_with_pending(self, keys: list[str]) -> dict[str, bytes]:
        raise NotImplementedError

    def _drop(self, key: str, reason: RefusedRowError) -> None:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError
