"""The shared cache as a tier over the local one (``shared.cache: tier``, the default).

Reads stay as fast as without fleet mode and writes reach the whole fleet:

* **writes** go to the local cache first, then to Redis;
* **reads** ask the local cache first and Redis only for the misses, and copy what Redis had
  into the local cache (the next read of those symbols stays local). A local entry at least
  ``recheck_after_s`` old (the façade passes ``cache.fresh_for``: one it would no longer serve
  as fresh) is also looked up in Redis, where another worker may have stored a fresher one:
  without that, a worker with yesterday's entry on its disk would fetch again what the fleet
  already has, and a worker that waited for another's fetch would not see its answer;
* **while Redis is down** (:class:`~.link.RedisDown`) it is the local cache alone, and the
  symbols written meanwhile are remembered (the latest :data:`MAX_PENDING`). When Redis answers
  again (:meth:`~.link.RedisLink.on_return`) their local entries are replayed into Redis, in a
  thread of their own so no request waits for it, each only where Redis holds no entry fetched
  at the same time or later (a script compares ``fetched_at``): none newer is overwritten.

Deletes made while Redis was down are not replayed: Redis may keep an older entry, which costs
at most an extra call (freshness is judged from ``fetched_at``), never a wrong answer.

It is also a :class:`~resilient_provider.cache.not_found.NotFoundStore`: negative-cache rows
are kept in the local cache (or, for a local cache that keeps none, in memory) and in Redis, so
a symbol one worker found unknown is not asked for by the others; they are not replayed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..cache.base import CacheBackend, CacheEntry
from ..cache.inventory import CacheInventory
from ..cache.not_found import MemoryNotFoundStore, NotFoundEntry, NotFoundStore
from ..logs import get_logger
from .cache import RedisCache
from .link import RedisDown

log = get_logger(__name__)

#: How many symbols written while Redis is down are remembered for the replay (the latest).
MAX_PENDING = 10_000

#: How long :meth:`TieredCache.close` waits for a replay under way (its Redis operations are
#: bounded by the link's timeouts).
CLOSE_WAIT_S = 2.0

#: Runs a replay: in a daemon thread by default; tests pass ``lambda replay: replay()``.
Spawn = Callable[[Callable[[], None]], None]


def in_daemon_thread(replay: Callable[[], None]) -> None:
    """Run ``replay`` in a daemon thread of its own."""
    threading.Thread(target=replay, name="rp-cache-replay", daemon=True).start()


class TieredCache:
    """The local cache ``local`` with ``shared`` (Redis) behind it; see the module docstring.

    A :class:`~resilient_provider.cache.base.CacheBackend` and a
    :class:`~resilient_provider.cache.not_found.NotFoundStore`. It owns both tiers:
    :meth:`close` closes them.

    Args:
        local: the worker's own cache (disk or memory).
        shared: the Redis cache; its link's :meth:`~.link.RedisLink.on_return` replays.
        recheck_after_s: local entries at least this old are also looked up in Redis (None:
            never).
        clock: epoch seconds now (the age of local entries).
        max_pending: how many symbols written while Redis is down are kept for the replay.
        spawn: how a replay is run (see :data:`Spawn`).
    """

    def __init__(self, local: CacheBackend, shared: RedisCache, *,
                 recheck_after_s: float | None = None, clock: Callable[[], float] = time.time,
                 max_pending: int = MAX_PENDING, spawn: Spawn = in_daemon_thread) -> None:
        self.local = local
        self.shared = shared
        self._local_rows: NotFoundStore = (local if isinstance(local, NotFoundStore)
                                           else MemoryNotFoundStore(clock=clock))
        self._recheck_after_s = recheck_after_s
        self._clock = clock
        self._max_pending = max_pending
        self._spawn = spawn
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}  # symbols written while down, oldest first
        self._forgotten = 0  # written while down beyond max_pending: not replayed
        self._replays = 0  # replays under way
        self._idle = threading.Condition(self._lock)
        shared.link.on_return(self._start_replay)

    @property
    def pending(self) -> int:
        """How many symbols written while Redis was down wait for the replay."""
        with self._lock:
            return len(self._pending)

    # --- entries ----------------------------------------------------------------------------

    def get(self, symbol: str) -> CacheEntry | None:
        """The entry for ``symbol`` (local, else Redis's), or None."""
        return self.get_many([symbol]).get(symbol)

    def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        """Entries for those ``symbols`` that have one, in the order asked: local ones, and
        Redis's for the misses (and for local entries old enough to recheck) when it is up.

        Raises:
            Exception: what the local cache raises (Redis's failures never).
        """
        wanted = list(dict.fromkeys(symbols))
        found = self.local.get_many(wanted)
        ask = [s for s in wanted if s not in found or self._worth_a_recheck(found[s])]
        if not ask:
            return found
        try:
            theirs = self.shared.get_many(ask)
        except RedisDown:
            return found
        newer = {s: e for s, e in theirs.items()
                 if s not in found or e.fetched_at > found[s].fetched_at}
        if not newer:
            return found
        self._backfill(newer)
        found.update(newer)
        return {s: found[s] for s in wanted if s in found}

    def set(self, symbol: str, data: Mapping[str, Any], *, fetched_at: float,
            provider: str) -> None:
        """Store the entry in both tiers (see :meth:`set_many`)."""
        self.set_many({symbol: CacheEntry(dict(data), fetched_at, provider)})

    def set_many(self, entries: Mapping[str, CacheEntry]) -> None:
        """Store ``entries`` locally, then in Redis (remembered for the replay while it is
        down).

        Raises:
            TypeError: an entry holds something JSON cannot represent (nothing is stored).
            Exception: the local cache's write failed (Redis was still written to).
        """
        if not entries:
            return
        local_failure: Exception | None = None
        try:
            self.local.set_many(entries)
        except TypeError:
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised below, once Redis has the entries
            local_failure = exc
        try:
            self.shared.set_many(entries)
        except RedisDown:
            self._remember(list(entries))
        if local_failure is not None:
            raise local_failure

    def delete(self, symbol: str) -> bool:
        """Remove the entry from both tiers (from Redis only if it is up); True if either
        had one."""
        deleted = self.local.delete(symbol)
        with self._lock:
            self._pending.pop(symbol, None)
        try:
            return self.shared.delete(symbol) or deleted
        except RedisDown:
            return deleted

    def clear(self) -> None:
        """Remove every entry and negative-cache row of both tiers.

        Raises:
            RedisDown: Redis's part could not be cleared (the local one was).
        """
        self.local.clear()
        if isinstance(self._local_rows, MemoryNotFoundStore):
            self._local_rows.clear()
        with self._lock:
            self._pending.clear()
        self.shared.clear()

    def prune(self, *, older_than: float) -> int:
        """Prune both tiers (see the backends' ``prune``); how many rows went: the larger of
        the two tiers' counts, as a row is usually in both.

        Raises:
            RedisDown: Redis's part could not be pruned (the local one was; Redis's rows
                still expire by their TTL).
        """
        removed = self.local.prune(older_than=older_than)
        if isinstance(self._local_rows, MemoryNotFoundStore):
            removed += self._local_rows.prune(older_than=older_than)
        return max(removed, self.shared.prune(older_than=older_than))

    def entries(self) -> Iterator[tuple[str, CacheEntry]]:
        """Every entry of both tiers, the newer of the two where both have one (a
        :class:`~resilient_provider.cache.inventory.CacheInventory`); the local tier's alone
        while Redis is down (logged), and Redis's alone for a local cache that cannot be
        listed."""
        merged = dict(self.local.entries()) if isinstance(self.local, CacheInventory) else {}
        try:
            for symbol, entry in self.shared.entries():
                if symbol not in merged or entry.fetched_at > merged[symbol].fetched_at:
                    merged[symbol] = entry
        except RedisDown:
            log.warning("Redis is down: listing the local cache only")
        return iter(merged.items())

    def not_found_entries(self) -> Iterator[NotFoundEntry]:
        """Every negative-cache row of both tiers, the later confirmation where both have one
        (the local tier's alone while Redis is down)."""
        local = self._local_rows
        rows = ({r.symbol: r for r in local.not_found_entries()}
                if isinstance(local, CacheInventory | MemoryNotFoundStore) else {})
        try:
            for row in self.shared.not_found_entries():
                if row.symbol not in rows or row.confirmed_at > rows[row.symbol].confirmed_at:
                    rows[row.symbol] = row
        except RedisDown:
            log.warning("Redis is down: listing the local negative cache only")
        return iter(rows.values())

    def close(self) -> None:
        """Let a replay under way finish (up to :data:`CLOSE_WAIT_S`), then close both tiers.
        Symbols still waiting for a replay are logged: their entries stay local only."""
        with self._idle:
            self._idle.wait_for(lambda: self._replays == 0, timeout=CLOSE_WAIT_S)
            left = len(self._pending)
        if left:
            log.info("closing with %d cache entries written while Redis was down not "
                     "replayed into Redis", left)
        try:
            self.local.close()
        finally:
            self.shared.close()

    def __repr__(self) -> str:
        return f"TieredCache({self.local!r} over {self.shared!r})"

    # --- negative-cache rows ----------------------------------------------------------------

    def get_not_found(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        """Rows of those ``symbols`` that have one: local ones, Redis's for the others."""
        found = self._local_rows.get_not_found(symbols)
        rest = [s for s in symbols if s not in found]
        if rest:
            with contextlib.suppress(RedisDown):
                found.update(self.shared.get_not_found(rest))
        return found

    def set_not_found(self, entries: Sequence[NotFoundEntry], *, keep_s: float) -> None:
        """Store rows in both tiers (in Redis only if it is up)."""
        self._local_rows.set_not_found(entries, keep_s=keep_s)
        with contextlib.suppress(RedisDown):
            self.shared.set_not_found(entries, keep_s=keep_s)

    def delete_not_found(self, symbols: Sequence[str]) -> None:
        """Remove the rows of ``symbols`` from both tiers (from Redis only if it is up)."""
        self._local_rows.delete_not_found(symbols)
        with contextlib.suppress(RedisDown):
            self.shared.delete_not_found(symbols)

    # --- internals --------------------------------------------------------------------------

    def _worth_a_recheck(self, entry: CacheEntry) -> bool:
        return (self._recheck_after_s is not None
                and entry.age_s(self._clock()) >= self._recheck_after_s)

    def _backfill(self, entries: dict[str, CacheEntry]) -> None:
        """Copy Redis's ``entries`` into the local cache; a failure only costs Redis reads."""
        try:
            self.local.set_many(entries)
        except Exception as exc:  # noqa: BLE001 - an optimisation: the read has its answers
            log.debug("copying %d entries from Redis into the local cache failed: %s: %s",
                      len(entries), type(exc).__name__, exc)

    def _remember(self, symbols: Sequence[str]) -> None:
        with self._lock:
            for symbol in symbols:
                self._pending.pop(symbol, None)  # to the end: the latest are kept
                self._pending[symbol] = None
            while len(self._pending) > self._max_pending:
                del self._pending[next(iter(self._pending))]
                self._forgotten += 1

    def _start_replay(self) -> None:
        """The link's reconciler: replay the symbols written while Redis was down."""
        with self._lock:
            if not self._pending:
                return
            symbols, self._pending = list(self._pending), {}
            forgotten, self._forgotten = self._forgotten, 0
            self._replays += 1
        if forgotten:
            log.warning("%d more cache entries were written while Redis was down than are "
                        "kept for replay (%d): they stay local only", forgotten,
                        self._max_pending)
        try:
            self._spawn(lambda: self._replay(symbols))
        except RuntimeError:  # no thread to be had (interpreter shutting down): replay here
            self._replay(symbols)

    def _replay(self, symbols: list[str]) -> None:
        try:
            entries = self.local.get_many(symbols)
            stored = self.shared.set_many_unless_newer(entries)
        except RedisDown:
            self._remember(symbols)  # down again: the next return replays them
            return
        except Exception as exc:  # noqa: BLE001 - in its own thread: nobody else would log it
            log.warning("replaying %d cache entries into Redis failed: %s: %s", len(symbols),
                        type(exc).__name__, exc)
            return
        finally:
            with self._idle:
                self._replays -= 1
                self._idle.notify_all()
        log.info("replayed %d of %d cache entries written while Redis was down (the others "
                 "were newer in Redis, or gone)", stored, len(symbols))
