"""The history cache: bars per (symbol, interval) with the segments of time they cover.

Each entry is one JSON document (orjson; never pickle): the bars' time zone, their start times
(epoch milliseconds), one list per column, and the :class:`~.coverage.Segment` s. The memory
backend keeps the bytes in a dict; the disk backend keeps them in diskcache under the
configured cache directory (``<cache dir>/history``), through the info cache's JSON-only disk
(:class:`~resilient_provider.cache.json_disk.JsonOnlyDisk`, which refuses pickled rows) and its
opening (user-only files, a damaged database moved aside). An entry that cannot be read is
reported missing (and logged): the bars are fetched again. Symbols are validated before they
reach a key. Entries are kept ``keep_for_s`` after their last write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from ..config import Settings
from ..logs import get_logger
from ..symbols import normalize_symbol
from .bars import BAR_COLUMNS, BAR_DTYPES, INDEX_UNIT, INTERVALS, empty_bars
from .coverage import Segment

if TYPE_CHECKING:
    import diskcache
    import pandas as pd

log = get_logger(__name__)

#: Bump when the stored layout changes; older entries are then not found.
HISTORY_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CachedBars:
    """What the cache holds for one (symbol, interval): canonical bars and their coverage."""

    bars: pd.DataFrame = field(default_factory=empty_bars)
    segments: tuple[Segment, ...] = ()


def history_key(symbol: str, interval: str) -> str:
    """The storage key of ``symbol``'s ``interval`` bars; the symbol is validated here too."""
    if normalize_symbol(symbol) != symbol:
        raise ValueError(f"history key for a symbol not normalised: {symbol!r}")
    if interval not in INTERVALS:
        raise ValueError(f"history key for an unknown interval: {interval!r}")
    return f"rp:v{HISTORY_SCHEMA_VERSION}:history:{interval}:{symbol}"


def encode_cached(cached: CachedBars) -> bytes:
    """``cached`` as JSON bytes (NaN and missing values become null)."""
    bars = cached.bars
    index = bars.index
    tz = str(getattr(index, "tz", None) or "UTC")
    stamps = index.as_unit("ms").asi8.tolist() if len(index) else []  # type: ignore[attr-defined]
    columns = {c: [None if _missing(v) else v for v in bars[c].astype(object).tolist()]
               for c in BAR_COLUMNS}
    document = {"v": HISTORY_SCHEMA_VERSION, "tz": tz, "t": stamps, "columns": columns,
                "segments": [[s.start_s, s.end_s, s.fetched_at, s.provider, s.final_until_s,
                              s.to_now] for s in cached.segments]}
    return bytes(memoryview(orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)))


def _missing(value: object) -> bool:
    """None, NaN or pandas' NA."""
    return value is None or type(value).__name__ == "NAType" or (
        isinstance(value, float) and value != value)


def decode_cached(raw: bytes) -> CachedBars | None:
    """Parse what :func:`encode_cached` wrote; None for anything else."""
    import pandas as pd  # imported here: pandas takes a second to import

    try:
        document = orjson.loads(raw)
        if not isinstance(document, dict) or document.get("v") != HISTORY_SCHEMA_VERSION:
            return None
        stamps, columns = document["t"], document["columns"]
        if not isinstance(stamps, list) or not all(len(columns[c]) == len(stamps)
                                                   for c in BAR_COLUMNS):
            return None
        index = pd.DatetimeIndex(pd.to_datetime(stamps, unit="ms", utc=True),
                                 name="timestamp").tz_convert(str(document["tz"])).as_unit(
                                     INDEX_UNIT)
        data = {c: pd.Series(columns[c], index=index, dtype=object) for c in BAR_COLUMNS}
        frame = pd.DataFrame(data, index=index)
        frame = frame.astype({c: ("Float64" if c == "volume" else "float64")
                              for c in BAR_COLUMNS}).astype(BAR_DTYPES)
        segments = tuple(Segment(float(a), float(b), float(f), str(p), float(u), bool(n))
                         for a, b, f, p, u, n in document["segments"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        log.warning("unreadable history cache entry skipped: %s: %s", type(exc).__name__, exc)
        return None
    return CachedBars(frame, segments)


class HistoryStore(Protocol):
    """Where :class:`CachedBars` live; safe to call from several threads."""

    def get(self, symbol: str, interval: str) -> CachedBars | None:
        """The entry of ``symbol`` for ``interval``, or None."""
        ...

    def put(self, symbol: str, interval: str, cached: CachedBars) -> None:
        """Store ``cached`` as the entry of ``symbol`` for ``interval``."""
        ...

    def clear(self) -> int:
        """Remove every entry; how many there were."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


class MemoryHistoryStore:
    """A :class:`HistoryStore` in a locked dict of JSON bytes (the same round trip as disk)."""

    def __init__(self, *, keep_for_s: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._keep_for_s = keep_for_s
        self._clock = clock
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[float, bytes]] = {}

    def get(self, symbol: str, interval: str) -> CachedBars | None:
        """The entry, or None (also once it outlived ``keep_for_s``)."""
        key = history_key(symbol, interval)
        with self._lock:
            row = self._rows.get(key)
        if row is None or (self._keep_for_s is not None
                           and self._clock() - row[0] >= self._keep_for_s):
            return None
        return decode_cached(row[1])

    def put(self, symbol: str, interval: str, cached: CachedBars) -> None:
        """Store the entry, stamped with the clock's time."""
        raw = encode_cached(cached)
        with self._lock:
            self._rows[history_key(symbol, interval)] = (self._clock(), raw)

    def clear(self) -> int:
        """Remove every entry; how many there were."""
        with self._lock:
            removed = len(self._rows)
            self._rows.clear()
        return removed

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"MemoryHistoryStore(entries={len(self._rows)})"


class DiskHistoryStore:
    """A :class:`HistoryStore` on diskcache in ``directory``, JSON only, never pickle.

    Raises:
        OSError, sqlite3.Error, diskcache.Timeout: the directory cannot be opened.
    """

    def __init__(self, directory: str | Path, *, keep_for_s: float | None = None,
                 timeout_s: float = 0.5) -> None:
        from ..cache.disk_open import open_repaired_cache
        from ..cache.json_disk import JsonOnlyDisk

        self.directory = Path(directory).expanduser()
        self._keep_for_s = keep_for_s
        # One writer at a time in this process: a batch's chunk threads writing at once made
        # SQLite's lock wait out the timeout and lose entries (7 of 500 symbols fetched again
        # in the history benchmark). Other processes still wait for it up to ``timeout_s``.
        self._write_lock = threading.Lock()
        self._cache: diskcache.Cache = open_repaired_cache(
            self.directory, open_timeout_s=1.0, timeout=timeout_s, disk=JsonOnlyDisk,
            eviction_policy="least-recently-stored", statistics=0)

    def get(self, symbol: str, interval: str) -> CachedBars | None:
        """The entry, or None (also for an unreadable or refused row)."""
        from ..cache.json_disk import RefusedRowError

        key = history_key(symbol, interval)
        try:
            raw: Any = self._cache.get(key)
        except RefusedRowError as exc:
            log.warning("history cache row %s in %s refused: %s", key, self.directory, exc)
            return None
        return decode_cached(raw) if isinstance(raw, bytes) else None

    def put(self, symbol: str, interval: str, cached: CachedBars) -> None:
        """Store the entry (one SQLite transaction)."""
        raw = encode_cached(cached)  # encoded outside the lock
        with self._write_lock:
            self._cache.set(history_key(symbol, interval), raw, expire=self._keep_for_s)

    def clear(self) -> int:
        """Remove every entry; how many there were."""
        return int(self._cache.clear())

    def close(self) -> None:
        """Close this thread's connection (diskcache reopens one if used again)."""
        self._cache.close()

    def __repr__(self) -> str:
        return f"DiskHistoryStore({str(self.directory)!r})"


def open_history_store(cache: object, settings: Settings, *,
                       clock: Callable[[], float]) -> HistoryStore:
    """The history store beside the façade's info ``cache``: in memory for a memory cache,
    else on disk in ``<cache directory>/history`` (the directory of the disk cache given, or
    ``cache.path`` of ``settings``). A directory that cannot be opened gives a memory store and
    one WARNING: the run goes on, without keeping bars across runs."""
    import sqlite3

    import diskcache

    from ..cache.memory import MemoryCache

    keep_for_s = settings.history.keep_for
    directory = getattr(cache, "directory", None)
    if isinstance(cache, MemoryCache) or (directory is None
                                          and settings.cache.backend == "memory"):
        return MemoryHistoryStore(keep_for_s=keep_for_s, clock=clock)
    path = (Path(directory) if isinstance(directory, str | Path)
            else settings.cache.resolved_path()) / "history"
    try:
        return DiskHistoryStore(path, keep_for_s=keep_for_s)
    except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
        log.warning("history kept in memory only: cannot open %s: %s: %s", path,
                    type(exc).__name__, exc)
        return MemoryHistoryStore(keep_for_s=keep_for_s, clock=clock)
