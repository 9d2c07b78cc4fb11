"""The cache in the user's hands: list, show, export, prune and clear what a cache holds.

:class:`CacheTools` works on any backend that is a
:class:`~resilient_provider.cache.inventory.CacheInventory` (every built-in one, the fleet's
Redis cache and tier included). The façade's ``cache_entries()``, ``cache_entry()``,
``export_cache()``, ``prune_cache()`` and ``clear_cache()`` (:mod:`.facade_cache`) and the
``resilient-provider cache`` commands are both built on it.

Each row is a :class:`CacheRecord`: a cache entry with its freshness judged as the cascade
judges it (``fresh``, ``stale``, ``too_old``; ``invalid`` for one the cascade would refuse:
a stamp that is no time, another symbol's data, no usable price), or a negative-cache row of a
symbol a provider confirmed unknown (``not_found``, or ``not_found_expired`` once older than
``cache.not_found_for``). Symbols read back from a store are validated before they are
returned: a row whose key is no valid symbol (planted by hand) is left out and counted in the
log, never echoed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .cache import CacheBackend, CacheEntry, open_cache
from .cache.base import MAX_FUTURE_SKEW_S, stamp_problem
from .cache.inventory import CacheInventory
from .cache.not_found import NotFoundEntry, NotFoundStore
from .config import CacheSettings, Settings, parse_duration
from .errors import ConfigError, InvalidSymbolError
from .logs import get_logger
from .result import iso_utc
from .strategy.contract import check_info
from .strategy.freshness import FreshnessRule
from .symbols import normalize_symbol

if TYPE_CHECKING:
    from .history.store import HistoryStore

log = get_logger(__name__)

#: What :attr:`CacheRecord.status` can say.
Status = Literal["fresh", "stale", "too_old", "invalid", "not_found", "not_found_expired"]


@dataclass(frozen=True, slots=True)
class CacheRecord:
    """One row of a cache: an entry (``kind="entry"``) or a negative-cache row
    (``kind="not_found"``), with its age and status at the time it was read.

    ``fetched_at`` is when the entry was fetched, or when the symbol was confirmed unknown
    (epoch seconds); ``data`` is the cached info dict (None for a negative-cache row).
    """

    symbol: str
    kind: Literal["entry", "not_found"]
    status: Status
    provider: str
    fetched_at: float
    age_s: float
    data: dict[str, Any] | None = None

    def to_dict(self, *, with_data: bool = True) -> dict[str, Any]:
        """JSON-ready: ``fetched_at`` as ISO 8601 UTC, ``age_s`` rounded to 3 decimals."""
        row: dict[str, Any] = {
            "symbol": self.symbol, "kind": self.kind, "status": self.status,
            "provider": self.provider, "fetched_at": _iso(self.fetched_at),
            "age_s": round(self.age_s, 3)}
        if with_data:
            row["data"] = self.data
        return row


@dataclass(frozen=True, slots=True)
class ClearedCounts:
    """What :meth:`CacheTools.clear` removed: entries, negative-cache rows, and the cached
    price histories (one per symbol and interval)."""

    entries: int
    not_found: int
    histories: int = 0

    def to_dict(self) -> dict[str, int]:
        """``{"entries": …, "not_found": …, "histories": …}``."""
        return {"entries": self.entries, "not_found": self.not_found,
                "histories": self.histories}


class CacheNotListableError(TypeError):
    """The backend is no :class:`~resilient_provider.cache.inventory.CacheInventory`."""


class CacheTools:
    """Inspect and tidy ``cache`` under the freshness rules of ``settings``.

    Args:
        cache: the backend (the façade's, or one opened by :func:`open_cache_tools`).
        settings: ``cache.fresh_for``, ``max_stale_age`` and ``not_found_for`` judge rows.
        clock: epoch seconds now.
    """

    def __init__(self, cache: CacheBackend, settings: CacheSettings, *,
                 clock: Callable[[], float] = time.time,
                 history: Callable[[], HistoryStore] | None = None) -> None:
        self.cache = cache
        self._history = history  # opened by clear() only: listing must not create its files
        self.settings = settings
        self._clock = clock
        self._freshness = FreshnessRule.from_settings(settings)

    def records(self, *, include_not_found: bool = True) -> list[CacheRecord]:
        """Every entry (and negative-cache row), sorted by symbol, entries before rows.

        Raises:
            CacheNotListableError: the backend cannot list what it holds.
        """
        inventory = self._inventory()
        now = self._clock()
        records = [self._entry_record(s, e, now) for s, e in _valid(inventory.entries())]
        if include_not_found:
            rows = ((row.symbol, row) for row in inventory.not_found_entries())
            records.extend(self._row_record(row, now) for _, row in _valid(rows))
        return sorted(records, key=lambda r: (r.symbol, r.kind != "entry"))

    def record(self, symbol: str) -> CacheRecord | None:
        """The entry of ``symbol``, else its negative-cache row, else None.

        Raises:
            InvalidSymbolError: ``symbol`` is not a ticker symbol (checked before any read).
        """
        normalized = normalize_symbol(symbol)
        now = self._clock()
        entry = self.cache.get(normalized)
        if entry is not None:
            return self._entry_record(normalized, entry, now)
        if isinstance(self.cache, NotFoundStore):
            row = self.cache.get_not_found([normalized]).get(normalized)
            if row is not None:
                return self._row_record(row, now)
        return None

    def prune(self, older_than: float | str | None = None) -> int:
        """Remove entries (and negative-cache rows) older than ``older_than`` (seconds, or a
        duration such as ``"7d"``; default ``cache.max_stale_age``); how many went.

        Raises:
            ConfigError: ``older_than`` is not a duration (or negative).
        """
        age_s = self.settings.max_stale_age if older_than is None else _age(older_than)
        return self.cache.prune(older_than=self._clock() - age_s)

    def clear(self) -> ClearedCounts:
        """Remove every entry and negative-cache row, and the cached price histories; how
        many of each there were (entries and rows counted just before, when the backend can
        list them; else 0)."""
        entries = not_found = 0
        if isinstance(self.cache, CacheInventory):
            records = self.records()
            entries = sum(r.kind == "entry" for r in records)
            not_found = len(records) - entries
        self.cache.clear()
        histories = self._history().clear() if self._history is not None else 0
        return ClearedCounts(entries, not_found, histories)

    def _inventory(self) -> CacheInventory:
        if not isinstance(self.cache, CacheInventory):
            raise CacheNotListableError(
                f"{self.cache!r} cannot list its entries: it has no entries() and "
                "not_found_entries() (resilient_provider.cache.inventory.CacheInventory)")
        return self.cache

    def _entry_record(self, symbol: str, entry: CacheEntry, now: float) -> CacheRecord:
        status: Status
        if stamp_problem(entry, now) is not None or not isinstance(
                check_info(symbol, entry.data, provider=entry.provider), dict):
            status = "invalid"
        else:
            status = self._freshness.judge(entry, now).value
        return CacheRecord(symbol, "entry", status, entry.provider, entry.fetched_at,
                           entry.age_s(now), entry.data)

    def _row_record(self, row: NotFoundEntry, now: float) -> CacheRecord:
        # As NotFoundCache.is_current judges a row (NaN fails every comparison).
        current = (0 <= row.confirmed_at <= now + MAX_FUTURE_SKEW_S
                   and row.age_s(now) < self.settings.not_found_for)
        return CacheRecord(row.symbol, "not_found",
                           "not_found" if current else "not_found_expired", row.provider,
                           row.confirmed_at, row.age_s(now))


@contextmanager
def open_cache_tools(settings: Settings, *,
                     clock: Callable[[], float] = time.time) -> Iterator[CacheTools]:
    """The cache tools over the cache ``settings`` configure, as a façade would open it (the
    fleet's tier or Redis cache in fleet mode), without providers or statistics; closed after.

    Raises:
        ConfigError: fleet mode is on without the redis package.
    """
    from .shared.fleet import open_fleet  # imported here: only fleet mode needs it

    fleet = open_fleet(settings)
    cache = (fleet.cache(lambda: open_cache(settings.cache, clock=clock), clock=clock)
             if fleet is not None else open_cache(settings.cache, clock=clock))
    from .history.store import open_history_store

    opened: list[HistoryStore] = []

    def history() -> HistoryStore:
        if not opened:
            opened.append(open_history_store(cache, settings, clock=clock))
        return opened[0]

    try:
        yield CacheTools(cache, settings.cache, clock=clock, history=history)
    finally:
        try:
            for store in opened:
                store.close()
            cache.close()
        finally:
            if fleet is not None:
                fleet.close()


def _valid(rows: Iterator[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    """The rows whose symbol is one :func:`normalize_symbol` keeps as it is; the others are
    counted in one WARNING, not shown (a key planted in the store could hold anything)."""
    refused = 0
    for symbol, row in rows:
        try:
            valid = normalize_symbol(symbol) == symbol
        except InvalidSymbolError:
            valid = False
        if valid:
            yield symbol, row
        else:
            refused += 1
    if refused:
        log.warning("left out %d cache rows whose key is not a valid symbol", refused)


def _age(value: float | str) -> float:
    seconds = parse_duration(value)
    if seconds < 0:
        raise ConfigError(f"older_than must be a duration >= 0, got {value!r}")
    return seconds


def _iso(epoch_s: float) -> str | None:
    """ISO 8601 UTC, or None for a stamp no date can hold (a damaged row)."""
    try:
        return iso_utc(epoch_s)
    except (OverflowError, OSError, ValueError):
        return None
