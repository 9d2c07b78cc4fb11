"""Where answers are kept between runs: one contract, one small module per store.

:mod:`.base` defines :class:`CacheEntry` and the :class:`CacheBackend` protocol the strategy
talks to; :mod:`.memory` is the in-process store for tests and short runs; :mod:`.disk` is the
embedded default on diskcache. Both store JSON only, never pickle. :mod:`.not_found` is the
negative cache (symbols a provider confirmed it does not know) beside the entries: both
backends are also a :class:`NotFoundStore`. :mod:`.disabled` is what a run gets when its
disk cache cannot be opened.
"""

import sqlite3
from collections.abc import Callable

import diskcache

from ..config import CacheSettings
from ..logs import get_logger
from .base import CacheBackend, CacheEntry, cache_key
from .disabled import DisabledCache
from .disk import DiskCache
from .memory import MemoryCache
from .not_found import NotFoundEntry, NotFoundStore

__all__ = ["CacheBackend", "CacheEntry", "DiskCache", "MemoryCache", "NotFoundEntry",
           "NotFoundStore", "cache_key", "open_cache"]

log = get_logger(__name__)


def open_cache(settings: CacheSettings, *, clock: Callable[[], float]) -> CacheBackend:
    """The backend ``settings`` configure (``backend``, ``path``), keeping entries for
    ``max_stale_age``; the caller closes it.

    A disk cache that cannot be opened (the path is a file, not writable, the disk is full,
    the database stays locked) gives a :class:`DisabledCache` and one WARNING naming the path
    and the reason: the run goes on without a cache, on the providers.
    """
    if settings.backend == "memory":
        return MemoryCache(ttl_s=settings.max_stale_age, clock=clock)
    path = settings.resolved_path()
    try:
        return DiskCache(path, ttl_s=settings.max_stale_age)
    except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
        reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        log.warning("running without a cache: cannot open %s: %s", path, reason)
        return DisabledCache(path, reason)
