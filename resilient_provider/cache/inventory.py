"""Listing what a cache holds: the protocol the cache tools read every row through.

The strategy only ever reads entries by symbol; the cache tools
(:mod:`resilient_provider.cache_tools`, ``resilient-provider cache``) need to walk all of them,
and the negative cache's rows beside them. That is :class:`CacheInventory`, a protocol of its
own for the same reason :class:`~.not_found.NotFoundStore` is one: ``CacheBackend`` is
runtime-checkable, so new members on it would make every backend written to it before (a
user's) fail ``isinstance``. Every built-in backend implements both; a backend of your own opts
in by adding the two methods, and without them the cache tools say that it cannot be listed.

What an inventory hands back has been decoded as a read would decode it (JSON only, never
pickle); rows that do not decode are left out. The symbols come from the stored keys, so they
are what this library wrote there, or what someone else planted: the cache tools validate them
before they reach a terminal or a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from .base import CacheEntry, cache_key
from .not_found import NotFoundEntry

#: What every entry's key starts with: the symbol follows it.
ENTRY_PREFIX = cache_key("")


@runtime_checkable
class CacheInventory(Protocol):
    """A backend that can list every entry and negative-cache row it holds.

    Both iterators may read the store in slices as they go (a Redis ``SCAN``), so rows written
    or removed meanwhile may or may not appear; each row appears at most once.
    """

    def entries(self) -> Iterator[tuple[str, CacheEntry]]:
        """``(symbol, entry)`` for every readable entry still kept, in no particular order."""
        ...

    def not_found_entries(self) -> Iterator[NotFoundEntry]:
        """Every readable negative-cache row still kept, in no particular order (current or
        not: whether a row still counts is :class:`~.not_found.NotFoundCache`'s call)."""
        ...


def symbol_of_entry_key(key: str) -> str | None:
    """The symbol of an entry key of this schema (``rp:v1:info:AAPL`` → ``AAPL``), else None."""
    if not key.startswith(ENTRY_PREFIX):
        return None
    return key[len(ENTRY_PREFIX):] or None
