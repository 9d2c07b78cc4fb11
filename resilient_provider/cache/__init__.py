"""Where answers are kept between runs: one contract, one small module per store.

:mod:`.base` defines :class:`CacheEntry` and the :class:`CacheBackend` protocol the strategy
talks to; :mod:`.memory` is the in-process store for tests and short runs; :mod:`.disk` is the
embedded default on diskcache. Both store JSON only, never pickle.
"""

from .base import CacheBackend, CacheEntry, cache_key
from .disk import DiskCache
from .memory import MemoryCache

__all__ = ["CacheBackend", "CacheEntry", "DiskCache", "MemoryCache", "cache_key"]
