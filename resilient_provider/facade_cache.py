"""The façade's cache tools: what its cache holds, exported, pruned or cleared.

:class:`CacheMethods` is a mixin of :class:`~resilient_provider.facade.ResilientProvider`,
thin methods over :class:`~resilient_provider.cache_tools.CacheTools` on the façade's own
cache (the fleet's tier in fleet mode), judged by its settings and its clock.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol, cast

from .cache import CacheBackend
from .cache_export import export_records
from .cache_tools import CacheRecord, CacheTools, ClearedCounts
from .config import Settings


class _Facade(Protocol):
    """What the cache methods use of the façade."""

    settings: Settings
    cache: CacheBackend
    _clock: Callable[[], float]

    def _check_open(self) -> None: ...


class CacheMethods:
    """``cache_entries``, ``cache_entry``, ``export_cache``, ``prune_cache``, ``clear_cache``
    and ``offline``."""

    def cache_entries(self: _Facade, *, include_not_found: bool = True) -> list[CacheRecord]:
        """Every cache entry, then every negative-cache row, as :class:`CacheRecord`s sorted
        by symbol: age, status (``fresh``, ``stale``, ``too_old``, ``invalid``; ``not_found``
        or ``not_found_expired`` for a symbol confirmed unknown), provider, ``fetched_at``.

        Raises:
            CacheNotListableError: the cache given to the façade cannot list its entries.
        """
        return _tools(self).records(include_not_found=include_not_found)

    def cache_entry(self: _Facade, symbol: str) -> CacheRecord | None:
        """The cached entry of ``symbol`` (with its data), else its negative-cache row, else
        None. Raises :class:`~resilient_provider.errors.InvalidSymbolError` for a bad symbol."""
        return _tools(self).record(symbol)

    def export_cache(self: _Facade, path: str | os.PathLike[str]) -> int:
        """Write every row of :meth:`cache_entries` to ``path`` as JSON lines (``.jsonl``),
        JSON (``.json``) or CSV (``.csv``); how many were written.

        Raises:
            ValueError: another extension (the message lists the allowed ones).
        """
        return export_records(_tools(self).records(), path)

    def prune_cache(self: _Facade, *, older_than: float | str | None = None) -> int:
        """Remove entries and negative-cache rows older than ``older_than`` (seconds, or a
        duration like ``"7d"``; default ``cache.max_stale_age``); how many were removed."""
        return _tools(self).prune(older_than)

    def clear_cache(self: _Facade) -> ClearedCounts:
        """Remove every entry and negative-cache row, and the cached price histories; how
        many of each there were."""
        return _tools(self).clear()

    @property
    def offline(self: _Facade) -> bool:
        """Whether this façade answers from its cache only (the ``offline`` setting)."""
        return self.settings.offline


def _tools(facade: _Facade) -> CacheTools:
    facade._check_open()
    from .facade_history import history_store  # imported here: pandas-free until used

    return CacheTools(facade.cache, facade.settings.cache, clock=facade._clock,
                      history=lambda: history_store(cast(Any, facade)))  # the whole façade
