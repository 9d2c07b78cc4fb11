"""Where answers are kept between runs: one contract, one small module per store.

:mod:`.base` defines :class:`CacheEntry` and the :class:`CacheBackend` protocol the strategy
talks to; :mod:`.memory` is the in-process store for tests and short runs; :mod:`.disk` is the
embedded default on diskcache. Both store JSON only, never pickle. :mod:`.not_found` is the
negative cache (symbols a provider confirmed it does not know) beside the entries: both
backends are also a :class:`NotFoundStore`.
"""

from collections.abc import Callable

from ..config import CacheSettings
from .base import CacheBackend, CacheEntry, cache_key
from .disk import DiskCache
from .memory import MemoryCache
from .not_found import NotFoundEntry, NotFoundStore

__all__ = ["CacheBackend", "CacheEntry", "DiskCache", "MemoryCache", "NotFoundEntry",
           "NotFoundStore", "cache_key", "open_cache"]


def open_cache(settings: CacheSettings, *, clock: Callable[[], float]) -> CacheBackend:
    """The backend ``settings`` configure (``backend``, ``path``), keeping entries for
    ``max_stale_age``; the caller closes it."""
    if settings.backend == "memory":
        return MemoryCache(ttl_s=settings.max_stale_age, clock=clock)
    return DiskCache(settings.resolved_path(), ttl_s=settings.max_stale_age)
