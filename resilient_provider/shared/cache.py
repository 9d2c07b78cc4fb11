"""The shared cache: a :class:`~resilient_provider.cache.base.CacheBackend` in Redis.

Every worker of a fleet reads what any of them fetched. The rows are the local backends' rows,
byte for byte: :func:`~resilient_provider.cache.base.encode_entry` JSON (never pickle) under
``<key_prefix>:`` + :func:`~resilient_provider.cache.base.cache_key`, and the negative cache's
rows (:mod:`resilient_provider.cache.not_found`) under ``<key_prefix>:`` +
:func:`~resilient_provider.cache.base.not_found_key`. So a schema bump retires old rows here as
it does on disk, and no read of entries can return a negative row.

Why it is built the way it is:

* every key gets a TTL (``PX``, the maximum stale age, counted from the write as on disk): a
  shared server must not fill up with rows no worker will read again, and an operator can check
  that nothing under the prefix lives for ever;
* reads are ``MGET`` in slices of :data:`READ_SLICE` keys and writes ``SET ... PX`` in a
  pipeline without a transaction: one round trip per batch, not per symbol, and no slice large
  enough to hold the server up for other clients;
* ``clear`` and ``prune`` walk the keys with ``SCAN`` (``KEYS`` blocks a shared server for the
  whole walk) and touch only this prefix's cache rows, never other parts' keys;
* a row that does not decode (garbage, an older schema, a planted pickle: nothing here ever
  unpickles) is absent, and is deleted by a script that deletes it only if it is still the same
  bytes, so a good row another worker wrote meanwhile stays.

Every operation goes through :meth:`~.link.RedisLink.run`, so a Redis failure is a
:class:`~.link.RedisDown` within the link's timeouts. This backend *raises* it: used alone
(``shared.cache: alone``) the strategy catches cache errors and answers from the providers;
under :class:`~.tiered_cache.TieredCache` the tier falls back to the local cache.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..cache.base import (
    SCHEMA_VERSION,
    CacheEntry,
    cache_key,
    decode_entry,
    encode_entry,
    not_found_key,
)
from ..cache.not_found import NotFoundEntry, decode_not_found, encode_not_found
from ..logs import describe_symbols, get_logger
from .cache_scripts import (
    DELETE_IF_UNCHANGED,
    SET_UNLESS_NEWER,
    entry_fetched_at,
    glob_escape,
    ms,
    row_confirmed_at,
)
from .link import RedisLink

log = get_logger(__name__)

#: Keys per ``MGET`` and writes per pipeline round trip.
READ_SLICE = 500

#: Keys asked of each ``SCAN`` step (a hint to Redis, which may return more or fewer).
SCAN_COUNT = 1000

class RedisCache:
    """Cache entries and negative-cache rows in Redis, shared by every worker on ``link``.

    A :class:`~resilient_provider.cache.base.CacheBackend` and a
    :class:`~resilient_provider.cache.not_found.NotFoundStore`; see the module docstring.
    Safe to call from several threads (redis-py's pool hands each its own connection).

    Args:
        link: the worker's Redis link (owned by the fleet: :meth:`close` leaves it open).
        ttl_s: how long a row is kept after it is written (the maximum stale age).
        read_slice: keys per ``MGET`` and writes per pipeline round trip.

    Every method raises :class:`~.link.RedisDown` when Redis fails or is marked down.
    """

    def __init__(self, link: RedisLink, *, ttl_s: float = 7 * 86400.0,
                 read_slice: int = READ_SLICE) -> None:
        if ttl_s < 0:
            raise ValueError(f"ttl_s must be >= 0 (ttl_s={ttl_s!r})")
        if read_slice < 1:
            raise ValueError(f"read_slice must be >= 1 (read_slice={read_slice!r})")
        self.link = link
        self.ttl_s = ttl_s
        self._ttl_ms = ms(ttl_s)
        self._slice = read_slice
        # Our rows of any schema, entries or negative; nothing of breakers, budgets, leases.
        ours = re.escape(link.key("rp:v")) + r"[0-9]+:(?:info|not-found):"
        self._our_key = re.compile(ours.encode())
        self._scan_match = glob_escape(link.key("rp:v")) + "[0-9]*:*"

    # --- entries ----------------------------------------------------------------------------

    def get(self, symbol: str) -> CacheEntry | None:
        """The entry for ``symbol``, or None (also for an unreadable row, which is deleted)."""
        return self.get_many([symbol]).get(symbol)

    def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        """Entries for those ``symbols`` that have a readable one, in the order asked."""
        wanted = {self.link.key(cache_key(s)): s for s in dict.fromkeys(symbols)}
        found: dict[str, CacheEntry] = {}
        unreadable: dict[str, bytes] = {}
        for key, raw in self._read(list(wanted)):
            entry = decode_entry(raw)
            if entry is None:
                unreadable[key] = raw
            else:
                found[wanted[key]] = entry
        if unreadable:
            self._drop(unreadable, "not a cache entry (garbage or an older schema)")
        return found

    def set(self, symbol: str, data: Mapping[str, Any], *, fetched_at: float,
            provider: str) -> None:
        """Store ``data`` for ``symbol`` as fetched at epoch ``fetched_at`` by ``provider``.

        Raises:
            TypeError: ``data`` holds something JSON cannot represent (nothing is stored).
        """
        self.set_many({symbol: CacheEntry(dict(data), fetched_at, provider)})

    def set_many(self, entries: Mapping[str, CacheEntry]) -> None:
        """Store several entries, each kept ``ttl_s``; all are encoded before any is sent.

        Raises:
            TypeError: an entry holds something JSON cannot represent (nothing is stored).
        """
        rows = [(self.link.key(cache_key(s)), encode_entry(e)) for s, e in entries.items()]
        self._write("cache write", rows, self._ttl_ms)

    def set_many_unless_newer(self, entries: Mapping[str, CacheEntry]) -> int:
        """Store those ``entries`` that Redis holds no entry of as new or newer (by
        ``fetched_at``); return how many were stored. For replaying writes made while Redis
        was down, when another worker may have stored a fresher answer since."""
        # A stamp that is no time (NaN, infinite) is never replayed: no reader would trust it.
        rows = [(self.link.key(cache_key(s)), encode_entry(e), repr(float(e.fetched_at)))
                for s, e in entries.items() if math.isfinite(e.fetched_at)]

        def replay(r: Any) -> int:
            script = r.register_script(SET_UNLESS_NEWER)
            stored = 0
            for start in range(0, len(rows), self._slice):
                pipe = r.pipeline(transaction=False)
                for key, raw, fetched_at in rows[start:start + self._slice]:
                    script(keys=[key], args=[raw, fetched_at, self._ttl_ms, SCHEMA_VERSION],
                           client=pipe)
                stored += sum(int(done) for done in pipe.execute())
            return stored

        return self.link.run("cache replay", replay) if rows else 0

    def delete(self, symbol: str) -> bool:
        """Remove the entry for ``symbol``; True if there was one."""
        key = self.link.key(cache_key(symbol))
        return bool(self.link.run("cache delete", lambda r: r.delete(key)))

    def clear(self) -> None:
        """Remove every entry and negative-cache row under this prefix (of any schema), and
        nothing else: other parts' keys and other prefixes stay."""
        for keys, _ in self._scan(with_values=False):
            def delete(r: Any, keys: list[bytes] = keys) -> None:
                r.delete(*keys)

            self.link.run("cache clear", delete)

    def prune(self, *, older_than: float) -> int:
        """Remove entries fetched (negative-cache rows confirmed) before epoch ``older_than``
        and unreadable rows; return how many went. Rows expire by their TTL anyway: this only
        frees the space sooner."""
        removed = 0
        for keys, values in self._scan(with_values=True):
            doomed = {key.decode(): raw for key, raw in zip(keys, values, strict=True)
                      if raw is not None and self._too_old(key, raw, older_than)}
            removed += self._delete_unchanged("cache prune", doomed)
        return removed

    def entries(self) -> Iterator[tuple[str, CacheEntry]]:
        """``(symbol, entry)`` for every readable entry of this schema under the prefix (a
        :class:`~resilient_provider.cache.inventory.CacheInventory`): ``SCAN`` and ``MGET``
        one step at a time, which leave every key's TTL as it was."""
        for key, raw in self._rows_under(cache_key("")):
            entry = decode_entry(raw)
            if entry is not None:
                yield key.removeprefix(self.link.key(cache_key(""))), entry

    def not_found_entries(self) -> Iterator[NotFoundEntry]:
        """Every readable negative-cache row under the prefix (read as :meth:`entries`)."""
        for key, raw in self._rows_under(not_found_key("")):
            row = decode_not_found(raw)
            if row is not None and key == self.link.key(not_found_key(row.symbol)):
                yield row

    def close(self) -> None:
        """Nothing of its own to release: the link is the fleet's, closed by it."""

    # --- negative-cache rows ----------------------------------------------------------------

    def get_not_found(self, symbols: Sequence[str]) -> dict[str, NotFoundEntry]:
        """Negative-cache rows of those ``symbols`` that have a readable one."""
        wanted = {self.link.key(not_found_key(s)): s for s in dict.fromkeys(symbols)}
        found: dict[str, NotFoundEntry] = {}
        unreadable: dict[str, bytes] = {}
        for key, raw in self._read(list(wanted)):
            row = decode_not_found(raw)
            if row is None or row.symbol != wanted[key]:
                unreadable[key] = raw
            else:
                found[row.symbol] = row
        if unreadable:
            self._drop(unreadable, "not a negative-cache row")
        return found

    def set_not_found(self, entries: Sequence[NotFoundEntry], *, keep_s: float) -> None:
        """Store negative-cache rows, each kept ``keep_s`` seconds (its TTL)."""
        rows = [(self.link.key(not_found_key(e.symbol)), encode_not_found(e)) for e in entries]
        self._write("negative cache write", rows, ms(keep_s))

    def delete_not_found(self, symbols: Sequence[str]) -> None:
        """Remove the negative-cache rows of ``symbols``."""
        keys = [self.link.key(not_found_key(s)) for s in symbols]
        if keys:
            self.link.run("negative cache delete", lambda r: r.delete(*keys))

    def __repr__(self) -> str:
        return (f"RedisCache({self.link.describe()}, prefix={self.link.prefix!r}, "
                f"ttl_s={self.ttl_s!r})")

    # --- internals --------------------------------------------------------------------------

    def _read(self, keys: list[str]) -> list[tuple[str, bytes]]:
        """``(key, bytes)`` of those ``keys`` that hold a row, in order: one pipeline of
        ``MGET`` slices, so one round trip however many slices."""
        if not keys:
            return []
        slices = [keys[start:start + self._slice] for start in range(0, len(keys), self._slice)]

        def read(r: Any) -> list[Any]:
            if len(slices) == 1:
                return [r.mget(slices[0])]
            pipe = r.pipeline(transaction=False)
            for part in slices:
                pipe.mget(part)
            return list(pipe.execute())

        values = [raw for part in self.link.run("cache read", read) for raw in part]
        return [(key, raw) for key, raw in zip(keys, values, strict=True) if raw is not None]

    def _write(self, what: str, rows: list[tuple[str, bytes]], px: int) -> None:
        def write(r: Any) -> None:
            for start in range(0, len(rows), self._slice):
                pipe = r.pipeline(transaction=False)
                for key, raw in rows[start:start + self._slice]:
                    pipe.set(key, raw, px=px)
                pipe.execute()

        if rows:
            self.link.run(what, write)

    def _drop(self, unreadable: Mapping[str, bytes], reason: str) -> None:
        """Log unreadable rows and delete them (if unchanged), so each is reported once."""
        log.warning("cache rows in Redis are unreadable, deleted them: %s: %s",
                    describe_symbols(list(unreadable)), reason)
        self._delete_unchanged("cache drop", unreadable)

    def _delete_unchanged(self, what: str, rows: Mapping[str, bytes]) -> int:
        """Delete each of ``rows`` that still holds the bytes given; how many were."""
        items = list(rows.items())

        def delete(r: Any) -> int:
            script = r.register_script(DELETE_IF_UNCHANGED)
            deleted = 0
            for start in range(0, len(items), self._slice):
                pipe = r.pipeline(transaction=False)
                for key, raw in items[start:start + self._slice]:
                    script(keys=[key], args=[raw], client=pipe)
                deleted += sum(int(done) for done in pipe.execute())
            return deleted

        return self.link.run(what, delete) if items else 0

    def _scan(self, *, with_values: bool) -> Iterator[tuple[list[bytes], list[Any]]]:
        """Our cache rows' keys (and their values), one ``SCAN`` step at a time; each step is
        its own bounded operation, so a long walk never holds one connection for long."""
        cursor = 0
        while True:
            def step(r: Any, cursor: int = cursor) -> tuple[int, list[bytes], list[Any]]:
                after, found = r.scan(cursor=cursor, match=self._scan_match, count=SCAN_COUNT)
                keys = [k for k in found if self._our_key.match(k)]
                values = list(r.mget(keys)) if with_values and keys else []
                return int(after), keys, values

            cursor, keys, values = self.link.run("cache scan", step)
            if keys:
                yield keys, values
            if cursor == 0:
                return

    def _rows_under(self, kind: str) -> Iterator[tuple[str, bytes]]:
        """``(key, bytes)`` of our rows whose key (after the prefix) starts with ``kind``."""
        start = self.link.key(kind).encode()
        for keys, values in self._scan(with_values=True):
            for key, raw in zip(keys, values, strict=True):
                if raw is not None and key.startswith(start) and len(key) > len(start):
                    yield key.decode("utf-8", "replace"), raw

    def _too_old(self, key: bytes, raw: bytes, older_than: float) -> bool:
        """Whether the row ``raw`` at ``key`` goes in a prune: unreadable, or written before
        ``older_than``."""
        written_at: Callable[[bytes], float | None]
        if key.startswith(self.link.key(not_found_key("")).encode()):
            written_at = row_confirmed_at
        elif key.startswith(self.link.key(cache_key("")).encode()):
            written_at = entry_fetched_at
        else:
            return True  # an older schema's row: never read again
        when = written_at(raw)
        return when is None or when < older_than
