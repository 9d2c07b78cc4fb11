"""Coalescing: concurrent requests for the same symbol share one walk of the cascade."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from ..errors import DeadlineExceededError
from ..result import DataSource, FetchResult


@dataclass(frozen=True, slots=True)
class Coalesced:
    """What one :meth:`Coalescer.run` got: a result per symbol, and which it did not fetch."""

    results: dict[str, FetchResult]
    joined: frozenset[str]


class Coalescer:
    """Lets one caller fetch a symbol while others asking for it meanwhile wait for its result.

    A symbol is "in flight" from the moment a caller claims it until its result is set; a
    second caller asking for it then waits for that result instead of calling a provider again.
    Nothing is cached here: once the result is out, the next request starts afresh.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, Future[FetchResult]] = {}
        self._waiting = 0

    def run(self, symbols: Sequence[str],
            fetch: Callable[[list[str]], Mapping[str, FetchResult]], *,
            wait_s: float) -> Coalesced:
        """Results for distinct ``symbols``: ``fetch`` gets those not already in flight.

        ``wait_s`` bounds the wait for another caller's result; a result that does not come in
        time (its caller is bounded by the same deadline, so only a stuck caller) becomes a
        ``deadline_exceeded`` error rather than a hang.
        """
        mine: dict[str, Future[FetchResult]] = {}
        theirs: dict[str, Future[FetchResult]] = {}
        with self._lock:
            for symbol in symbols:
                running = self._in_flight.get(symbol)
                if running is None:
                    mine[symbol] = self._in_flight[symbol] = Future()
                else:
                    theirs[symbol] = running
            self._waiting += len(theirs)
        fetched: Mapping[str, FetchResult] = {}
        try:
            if mine:
                fetched = fetch(list(mine))
        except BaseException as exc:
            for future in mine.values():
                future.set_exception(exc)
            raise
        finally:
            with self._lock:
                for symbol in mine:
                    self._in_flight.pop(symbol, None)
        for symbol, future in mine.items():
            future.set_result(fetched[symbol])
        try:
            results = {symbol: (fetched[symbol] if symbol in mine
                                else _wait(symbol, theirs[symbol], wait_s)) for symbol in symbols}
        finally:
            with self._lock:
                self._waiting -= len(theirs)
        return Coalesced(results, frozenset(theirs))

    def in_flight(self) -> int:
        """How many symbols are being fetched right now."""
        with self._lock:
            return len(self._in_flight)

    def waiting(self) -> int:
        """How many symbol requests are waiting for another caller's fetch right now."""
        with self._lock:
            return self._waiting


def _wait(symbol: str, future: Future[FetchResult], wait_s: float) -> FetchResult:
    try:
        return future.result(timeout=wait_s)
    except FutureTimeout:
        error = DeadlineExceededError(
            f"waited {wait_s:.1f}s for a concurrent request for the same symbol", symbol=symbol)
        return FetchResult(symbol=symbol, source=DataSource.ERROR, error=error,
                           latency_ms=wait_s * 1000.0)
