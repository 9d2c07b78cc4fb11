"""An in-process cache backend: a locked dict, for tests, the demo and short-lived runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .base import CacheEntry, cache_key, decode_entry, encode_entry
from .inventory import symbol_of_entry_key
from .not_found import MemoryNotFoundStore, NotFoundEntry


class MemoryCache:
    """A thread-safe in-memory :class:`~resilient_provider.cache.base.CacheBackend`.

    Entries are kept as the JSON bytes :func:`~resilient_provider.cache.base.encode_entry`
    makes, exactly as the disk backend stores them: what comes back has been through the same
    JSON round trip (tuples become lists, NaN becomes None), and neither the caller's dict nor
    a returned one shares anything with what is stored.

    It is also a :class:`~.not_found.NotFoundStore`: the negative cache's rows live in a dict
    of their own, never among the entries. :meth:`clear` and :meth:`prune` cover both, and
    :meth:`entries` and :meth:`not_found_entries` list them (a
    :class:`~.inventory.CacheInventory`).

    Args:
        ttl_s: how long after its ``fetched_at`` an entry is kept at all (the maximum stale
            age); None keeps entries until deleted. Freshness is not decided here.
        clock: epoch seconds now; inject a fake one in tests.
    """

    def __init__(self, *, ttl_s: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if ttl_s is not None and ttl_s < 0:
            raise ValueError(f"ttl_s must be >= 0 or None (ttl_s={ttl_s!r})")
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        # fetched_at is kept beside the bytes so expiry and prune need no decoding.
        self._rows: dict[str, tuple[float, bytes]] = {}
        self._not_found = MemoryNotFoundStore(clock=clock)

    def get(self, symbol: str) -> CacheEntry | None:
        """The entry for ``symbol``, or None when there is none or it outlived ``ttl_s``."""
        return self.get_many([symbol]).get(symbol)

    def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        """Entries for those ``symbols`` that have one younger than ``ttl_s``."""
        found: dict[str, bytes] = {}
        with self._lock:
            oldest = self._oldest_kept()
            for symbol in symbols:
                key = cache_key(symbol)
                row = self._rows.get(key)
                if row is None:
                    continue
                if row[0] < oldest:
                    del self._rows[key]
                    continue
                found[symbol] = row[1]
        # Decoding outside the lock: the bytes are immutable, so no other thread can change them.
        entries: dict[str, CacheEntry] = {}
        for symbol, raw in found.items():
            entry = decode_entry(raw)
            if entry is not None:  # always true for bytes we encoded; kept for the type
                entries[symbol] = entry
        return entries

    def set(self, symbol: str, data: Mapping[str, Any], *, fetched_at: float,
            provider: str) -> None:
        """Store ``data`` for ``symbol`` as fetched at epoch ``fetched_at`` by ``provider``.

        Raises:
            TypeError: ``data`` holds something JSON cannot represent (orjson's error).
        """
        entry = CacheEntry(data=dict(data), fetched_at=fetched_at, provider=provider)
        self.set_many({symbol: entry})

    def set_many(self, entries: Mapping[str, CacheEntry]) -> None:
        """Store several entries at once; all or none are stored if one cannot be encoded."""
        rows = {cache_key(symbol): (entry.fetched_at, encode_entry(entry))
                for symbol, entry in entries.items()}
        with self._lock:
            self._rows.update(rows)

    def delete(self, symbol: str) -> bool:
        """Remove the entry for ``symbol``; True if there was one."""
        with self._lock:
            return self._rows.pop(cache_key(symbol), None) is not None

    def clear(self) -> None:
        """Remove every entry and every negative-cache row."""
        with self._lock:
            self._rows.clear()
        self._not_found.clear()

    def prune(self, *, older_than: float) -> int:
        """Remove entries fetched before epoch ``older_than`` or older than ``ttl_s``, and
        negative-cache rows confirmed before ``older_than`` or past their ``keep_s``.

        Returns how many entries and rows were removed.
        """
        with self._lock:
            cutoff = max(older_than, self._oldest_kept())
            doomed = [key for key, (fetched_at, _) in self._rows.items() if fetched_at < cutoff]
            for key in doomed:
                del self._rows[key]
        return len(doomed) + self._not_found.prune(older_than=older_than)

    def entries(self) -> Iterator[tuple[str, CacheEntry]]:
        """``(symbol, entry)`` for every entry younger than ``ttl_s`` (a snapshot)."""
        with self._lock:
            oldest = self._oldest_kept()
            kept = [(key, raw) for key, (fetched_at, raw) in self._rows.items()
                    if fetched_at >= oldest]
        for key, raw in kept:
            symbol, entry = symbol_of_entry_key(key), decode_entry(raw)
            if symbol is not None and entry is not None:
                yield symbol, entry

    def not_found_entries(self) -> Iterator[NotFoundEntry]:
        """Every negative-cache row not yet past its ``keep_s`` (a snapshot)."""
        return self._not_found.not_found_entries()

    def get_not_found(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        """Negative-cache rows of those ``symbols`` that have one (see :mod:`.not_found`)."""
        return self._not_found.get_not_found(symbols)

    def set_not_found(self, entries: Sequence[NotFoundEntry], *, keep_s: float) -> None:
        """Store negative-cache rows, each kept ``keep_s`` seconds from now."""
        self._not_found.set_not_found(entries, keep_s=keep_s)

    def delete_not_found(self, symbols: Sequence[str]) -> None:
        """Remove the negative-cache rows of ``symbols``."""
        self._not_found.delete_not_found(symbols)

    def close(self) -> None:
        """Nothing to release; entries stay readable so tests can inspect them afterwards."""

    # No __len__ on purpose: an empty cache must not be falsy (``cache or MemoryCache()``).
    def __repr__(self) -> str:
        with self._lock:
            held = len(self._rows)
        return f"MemoryCache(entries={held}, ttl_s={self._ttl_s!r})"

    def _oldest_kept(self) -> float:
        """The earliest ``fetched_at`` kept (``-inf`` without a ttl); the caller holds the lock."""
        if self._ttl_s is None:
            return float("-inf")
        return self._clock() - self._ttl_s
