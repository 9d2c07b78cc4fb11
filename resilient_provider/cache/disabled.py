"""The backend of a run whose cache could not be opened: it keeps nothing.

A cache path that is a file, not writable, on a full disk or locked for too long must not stop
a run the providers could serve: :func:`~resilient_provider.cache.open_cache` then logs one
WARNING and hands back a :class:`DisabledCache`, which ``health`` reports as down with the
reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .base import CacheEntry
from .not_found import NotFoundEntry


class DisabledCache:
    """A :class:`~resilient_provider.cache.base.CacheBackend` that stores nothing and finds
    nothing: every read misses, every write is dropped.

    Args:
        path: the cache path that could not be opened.
        reason: why (the error, as one line).
    """

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason

    def get(self, symbol: str) -> CacheEntry | None:
        """Always None: nothing is kept."""
        return None

    def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        """Always empty: nothing is kept."""
        return {}

    def set(self, symbol: str, data: Mapping[str, Any], *, fetched_at: float,
            provider: str) -> None:
        """Dropped: nothing is kept."""

    def set_many(self, entries: Mapping[str, CacheEntry]) -> None:
        """Dropped: nothing is kept."""

    def delete(self, symbol: str) -> bool:
        """Always False: there is nothing to remove."""
        return False

    def clear(self) -> None:
        """Nothing to remove."""

    def prune(self, *, older_than: float) -> int:
        """Always 0: there is nothing to remove."""
        return 0

    def entries(self) -> Iterator[tuple[str, CacheEntry]]:
        """Nothing: nothing is kept (a :class:`~.inventory.CacheInventory` all the same)."""
        return iter(())

    def not_found_entries(self) -> Iterator[NotFoundEntry]:
        """Nothing: nothing is kept."""
        return iter(())

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"DisabledCache({str(self.path)!r}, reason={self.reason!r})"
