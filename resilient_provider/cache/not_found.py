"""The negative cache: symbols a provider confirmed it does not know, remembered for a while.

A symbol Yahoo does not know is asked for again on every run unless that fact is remembered.
What is kept is only the fact, ``{"symbol", "confirmed_at", "provider"}`` as JSON (never
pickle), next to the positive entries and never mixed with them:

* :class:`~.disk.DiskCache` keeps these rows in its own database under a key namespace of
  their own (:func:`~.base.not_found_key`, ``rp:v1:not-found:SYM``). Entries are read by their
  exact :func:`~.base.cache_key` (``rp:v1:info:SYM``), so no read of entries can return one of
  these rows, and they persist and are shared across processes exactly as entries are;
* :class:`~.memory.MemoryCache` keeps them in a dict of its own (:class:`MemoryNotFoundStore`);
* any other backend gets an in-process :class:`MemoryNotFoundStore` for the façade's life
  (:func:`open_not_found` logs this).

The store is a protocol of its own, :class:`NotFoundStore`, rather than three more methods on
``CacheBackend``. ``CacheBackend`` is runtime-checkable, so new members would make every
backend already written to it (a Redis one, a user's) fail ``isinstance``. A backend opts in
by implementing :class:`NotFoundStore`, and the others keep working unchanged.

Stores only keep and return rows. :class:`NotFoundCache` decides whether a row is still current
from ``confirmed_at``, the injected clock and ``cache.not_found_for``, the same way freshness is
judged from ``fetched_at``. When to consult, write and forget is the strategy's call
(:mod:`resilient_provider.strategy.known_unknowns`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import orjson

from ..config import CacheSettings
from ..logs import get_logger
from .base import MAX_FUTURE_SKEW_S, SCHEMA_VERSION, CacheBackend

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class NotFoundEntry:
    """``provider`` confirmed at epoch ``confirmed_at`` that ``symbol`` does not exist."""

    symbol: str
    confirmed_at: float
    provider: str

    def age_s(self, now: float) -> float:
        """Seconds since the confirmation (0 for one stamped in the future)."""
        return max(0.0, now - self.confirmed_at)


def encode_not_found(entry: NotFoundEntry) -> bytes:
    """Serialise a negative-cache row as JSON (never pickle)."""
    return orjson.dumps({"v": SCHEMA_VERSION, "symbol": entry.symbol,
                         "confirmed_at": entry.confirmed_at, "provider": entry.provider})


def decode_not_found(raw: bytes | str) -> NotFoundEntry | None:
    """Parse what :func:`encode_not_found` wrote. Anything else (an old schema, garbage)
    gives None."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if (not isinstance(obj, dict) or obj.get("v") != SCHEMA_VERSION
            or not isinstance(obj.get("symbol"), str)
            or not isinstance(obj.get("confirmed_at"), int | float)
            or not isinstance(obj.get("provider"), str)):
        return None
    return NotFoundEntry(obj["symbol"], float(obj["confirmed_at"]), obj["provider"])


@runtime_checkable
class NotFoundStore(Protocol):
    """Where a backend keeps negative-cache rows, apart from its entries (see the module doc).

    A store only keeps and returns rows. It decides nothing about whether they are current,
    and it must be safe to call from several threads.
    """

    def get_not_found(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        """The rows of those ``symbols`` that have one (the others are left out)."""
        ...

    def set_not_found(self, entries: Sequence[NotFoundEntry], *, keep_s: float) -> None:
        """Store ``entries``, replacing earlier rows. Each is kept at least ``keep_s`` seconds
        and may be dropped after that."""
        ...

    def delete_not_found(self, symbols: Sequence[str]) -> None:
        """Remove the rows of ``symbols``. A symbol without a row is ignored."""
        ...


class MemoryNotFoundStore:
    """A :class:`NotFoundStore` in a locked dict. It serves the memory backend, and stands in
    for a backend that keeps no rows of its own.

    Args:
        clock: epoch seconds now. A row is dropped ``keep_s`` after it was stored, as the disk
            backend drops its rows.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[float, NotFoundEntry]] = {}  # symbol: (drop after, row)

    def get_not_found(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        """The rows of those ``symbols`` that have one not yet past its ``keep_s``."""
        now = self._clock()
        found: dict[str, NotFoundEntry] = {}
        with self._lock:
            for symbol in symbols:
                row = self._rows.get(symbol)
                if row is not None and row[0] < now:
                    del self._rows[symbol]
                elif row is not None:
                    found[symbol] = row[1]
        return found

    def set_not_found(self, entries: Sequence[NotFoundEntry], *, keep_s: float) -> None:
        """Store ``entries``, each kept ``keep_s`` seconds from now."""
        drop_after = self._clock() + keep_s
        with self._lock:
            self._rows.update({e.symbol: (drop_after, e) for e in entries})

    def delete_not_found(self, symbols: Sequence[str]) -> None:
        """Remove the rows of ``symbols``."""
        with self._lock:
            for symbol in symbols:
                self._rows.pop(symbol, None)

    def not_found_entries(self) -> Iterator[NotFoundEntry]:
        """Every row not yet past its ``keep_s`` (a snapshot taken when called)."""
        now = self._clock()
        with self._lock:
            kept = [row for drop_after, row in self._rows.values() if drop_after >= now]
        return iter(kept)

    def prune(self, *, older_than: float) -> int:
        """Remove rows confirmed before epoch ``older_than`` or past their ``keep_s``. Returns
        how many were removed."""
        now = self._clock()
        with self._lock:
            doomed = [s for s, (drop_after, row) in self._rows.items()
                      if row.confirmed_at < older_than or drop_after < now]
            for symbol in doomed:
                del self._rows[symbol]
            return len(doomed)

    def clear(self) -> None:
        """Remove every row."""
        with self._lock:
            self._rows.clear()


class NotFoundCache:
    """The symbols a provider confirmed unknown less than ``ttl_s`` ago, over ``store``.

    Args:
        store: where the rows are kept (the cache backend itself, or a stand-in).
        ttl_s: how long a confirmation counts (``cache.not_found_for``). 0 turns the negative
            cache off: nothing is read or written.
        clock: epoch seconds now. It stamps confirmations and judges their age.
    """

    def __init__(self, store: NotFoundStore, *, ttl_s: float,
                 clock: Callable[[], float]) -> None:
        if ttl_s < 0:
            raise ValueError(f"ttl_s must be >= 0 (ttl_s={ttl_s!r})")
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock

    @property
    def enabled(self) -> bool:
        """Whether confirmations are remembered at all (``ttl_s`` above 0)."""
        return self.ttl_s > 0

    def read(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        """Every row stored for ``symbols``, current or not (see :meth:`is_current`)."""
        return self.store.get_not_found(symbols) if self.enabled and symbols else {}

    def is_current(self, entry: NotFoundEntry, now: float) -> bool:
        """Whether ``entry`` was confirmed less than ``ttl_s`` before ``now``.

        A stamp that cannot be a confirmation time (negative, or further in the future than
        clock skew explains: what another process or a damaged disk may leave) is never
        current, as :func:`~.base.stamp_problem` judges entries: it would otherwise keep the
        symbol unasked for ever.
        """
        confirmed_at = entry.confirmed_at
        if not 0 <= confirmed_at <= now + MAX_FUTURE_SKEW_S:  # NaN fails every comparison
            return False
        return entry.age_s(now) < self.ttl_s

    def remember(self, confirmed: Mapping[str, str]) -> None:
        """Record ``{symbol: provider}`` as confirmed unknown now."""
        if self.enabled and confirmed:
            now = self.clock()
            self.store.set_not_found(
                [NotFoundEntry(symbol, now, provider) for symbol, provider in confirmed.items()],
                keep_s=self.ttl_s)

    def forget(self, symbols: Sequence[str]) -> None:
        """Drop the rows of ``symbols`` (a symbol found after all, or shadowed by an entry)."""
        if symbols:
            self.store.delete_not_found(symbols)

    def __repr__(self) -> str:
        return f"NotFoundCache({self.store!r}, ttl_s={self.ttl_s!r})"


def open_not_found(cache: CacheBackend, settings: CacheSettings, *,
                   clock: Callable[[], float]) -> NotFoundCache:
    """The negative cache beside ``cache``, remembering confirmations for
    ``settings.not_found_for``. It lives in ``cache`` when that backend is a
    :class:`NotFoundStore`, and in memory for this process otherwise."""
    if isinstance(cache, NotFoundStore):
        return NotFoundCache(cache, ttl_s=settings.not_found_for, clock=clock)
    if settings.not_found_for > 0:
        log.info("%r keeps no negative cache: symbols confirmed unknown are remembered in "
                 "memory, by this façade only", cache)
    return NotFoundCache(MemoryNotFoundStore(clock=clock), ttl_s=settings.not_found_for,
                         clock=clock)
