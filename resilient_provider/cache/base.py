"""The cache contract: what every backend stores and the protocol the strategy talks to."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

#: Bump when the stored layout changes; old entries are then simply not found.
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached canonical info dict with when and by which provider it was fetched."""

    data: dict[str, Any]
    fetched_at: float
    provider: str

    def age_s(self, now: float) -> float:
        """Seconds since the entry was fetched (0 for an entry stamped in the future)."""
        return max(0.0, now - self.fetched_at)


#: How far in the future an entry's ``fetched_at`` may lie (clock skew between the hosts or
#: processes sharing a cache): beyond it, the stamp is not a time this entry was fetched.
MAX_FUTURE_SKEW_S = 300.0


def stamp_problem(entry: CacheEntry, now: float) -> str | None:
    """Why ``entry``'s ``fetched_at`` cannot be believed at epoch ``now``, or None.

    A stamp in the future would make the entry fresh for ever (its age is clamped to 0), and
    a huge one overflows every date conversion downstream.
    """
    fetched_at = entry.fetched_at
    if not math.isfinite(fetched_at) or fetched_at < 0:
        return f"fetched_at {fetched_at!r} is not a time"
    if fetched_at > now + MAX_FUTURE_SKEW_S:
        return f"fetched_at is {fetched_at - now:.3g}s in the future"
    return None


def cache_key(symbol: str) -> str:
    """The storage key of a *validated* symbol."""
    return f"rp:v{SCHEMA_VERSION}:info:{symbol}"


#: The key prefix of negative-cache rows (see :mod:`.not_found`): no :func:`cache_key` starts
#: with it, so a read of entries by their exact keys can never return one.
NOT_FOUND_PREFIX = f"rp:v{SCHEMA_VERSION}:not-found:"


def not_found_key(symbol: str) -> str:
    """The storage key of a *validated* symbol's negative-cache row (never a :func:`cache_key`)."""
    return NOT_FOUND_PREFIX + symbol


def encode_entry(entry: CacheEntry) -> bytes:
    """Serialise an entry as JSON (never pickle). NaN and infinities become null."""
    raw = orjson.dumps(
        {"v": SCHEMA_VERSION, "data": entry.data, "fetched_at": entry.fetched_at,
         "provider": entry.provider},
        option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
    )
    # orjson hands back its write buffer, which stays allocated at its grown capacity (64 KiB
    # for a 3 KiB info entry); an exact-size copy costs a microsecond and keeps a memory cache,
    # or a large batch's writes in flight, at the size of the JSON itself.
    return bytes(memoryview(raw))


def decode_entry(raw: bytes | str) -> CacheEntry | None:
    """Parse what :func:`encode_entry` wrote; None for anything else (old schema, garbage)."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if (
        not isinstance(obj, dict)
        or obj.get("v") != SCHEMA_VERSION
        or not isinstance(obj.get("data"), dict)
        or not isinstance(obj.get("fetched_at"), int | float)
        or not isinstance(obj.get("provider"), str)
    ):
        return None
    return CacheEntry(data=obj["data"], fetched_at=float(obj["fetched_at"]),
                      provider=obj["provider"])


@runtime_checkable
class CacheBackend(Protocol):
    """A store of :class:`CacheEntry` by symbol. Symbols are validated before they get here.

    Backends decide nothing about freshness: they keep ``fetched_at`` and the strategy judges
    fresh or stale. ``ttl_s`` given at construction only bounds how long a backend keeps an entry
    at all (the maximum stale age). Implementations must be safe to call from several threads.
    """

    def get(self, symbol: str) -> CacheEntry | None:
        """The entry for ``symbol``, or None."""
        ...

    def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        """Entries for those ``symbols`` that have one (missing ones are left out)."""
        ...

    def set(self, symbol: str, data: Mapping[str, Any], *, fetched_at: float,
            provider: str) -> None:
        """Store ``data`` for ``symbol`` as fetched at epoch ``fetched_at`` by ``provider``."""
        ...

    def set_many(self, entries: Mapping[str, CacheEntry]) -> None:
        """Store several entries at once."""
        ...

    def delete(self, symbol: str) -> bool:
        """Remove the entry for ``symbol``; True if there was one."""
        ...

    def clear(self) -> None:
        """Remove every entry."""
        ...

    def prune(self, *, older_than: float) -> int:
        """Remove entries fetched before epoch ``older_than``; return how many went."""
        ...

    def close(self) -> None:
        """Release files and connections. Further calls are not expected."""
        ...

