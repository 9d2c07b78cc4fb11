"""The fake Yahoo's request log: every request, and what the server did with it.

Tests and benchmarks count from it server-side instead of trusting what a client says it sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request the server received, and what it did with it.

    ``status`` is None when no response was sent (a hang or a connection reset); ``fault`` is
    the kind of the fault applied, if any; ``crumb_ok`` says whether the request carried a
    crumb this server issued and still honours.
    """

    route: str
    method: str
    host: str
    path: str
    symbols: tuple[str, ...]
    status: int | None
    fault: str | None
    crumb_ok: bool


Filter = Callable[[RequestRecord], bool]


def matcher(*, route: str | None = None, symbol: str | None = None,
            status: int | None = None) -> Filter:
    """A predicate true for records matching every filter given (a symbol: among its symbols)."""
    wanted = symbol.upper() if symbol else None

    def matches(r: RequestRecord) -> bool:
        return ((route is None or r.route == route)
                and (wanted is None or wanted in r.symbols)
                and (status is None or r.status == status))

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
