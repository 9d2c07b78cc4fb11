"""The fake Yahoo's request log: every request, what the server did with it, when, for whom.

Tests and benchmarks count from it server-side — requests and 429s per route, per library,
per window of time — instead of trusting what a client says it sent.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request the server received, and what it did with it.

    ``status`` is None when no response was sent (a hang or a connection reset); ``fault`` is
    the kind of the fault applied, if any, or ``"throttled"`` when the throttle refused the
    request, with ``reason`` saying why (``"sliding_window"``, ``"token_bucket"``,
    ``"in_flight"`` or ``"penalty_box"``); ``crumb_ok`` says whether the request carried a
    crumb this server issued and still honours. ``client`` is the source address the throttle
    counts by, ``library`` the library the server took the request for (None: it could not
    tell), ``at_s`` the server clock's reading when the request arrived.
    """

    route: str
    method: str
    host: str
    path: str
    symbols: tuple[str, ...]
    status: int | None
    fault: str | None
    crumb_ok: bool
    client: str = ""
    library: str | None = None
    reason: str | None = None
    at_s: float = 0.0


Filter = Callable[[RequestRecord], bool]


def matcher(*, route: str | None = None, symbol: str | None = None, status: int | None = None,
            fault: str | None = None, library: str | None = None) -> Filter:
    """A predicate true for records matching every filter given (a symbol: among its symbols)."""
    wanted = symbol.upper() if symbol else None

    def matches(r: RequestRecord) -> bool:
        return ((route is None or r.route == route)
                and (wanted is None or wanted in r.symbols)
                and (status is None or r.status == status)
                and (fault is None or r.fault == fault)
                and (library is None or r.library == library))

    return matches


class RequestLog:
    """Thread-safe, append-only (until cleared) list of :class:`RequestRecord`."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        """Log one request."""
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        """Every record so far, oldest first (a copy)."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def count(self, matches: Filter) -> int:
        """How many records ``matches`` accepts."""
        return sum(1 for r in self.records() if matches(r))

    def per_window(self, window_s: float, matches: Filter) -> list[int]:
        """Matching records per ``window_s`` window of arrival time, oldest window first.

        Windows are laid from the first logged request (matching or not) to the last, empty
        ones included, so the lists of two filters line up window by window.
        """
        if isinstance(window_s, bool) or not window_s > 0 or math.isinf(window_s):
            raise ValueError(f"window_s must be a finite number > 0, got {window_s!r}")
        records = self.records()
        if not records:
            return []
        start = min(r.at_s for r in records)
        windows = [0] * (int((max(r.at_s for r in records) - start) // window_s) + 1)
        for r in records:
            if matches(r):
                windows[int((r.at_s - start) // window_s)] += 1
        return windows
