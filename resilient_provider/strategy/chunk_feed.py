"""Where a batch's chunks come from: cut up front, or cut one at a time to the upstream's pace.

:func:`~.batch.run_chunks` asks a :class:`ChunkFeed` for the next chunk whenever a chunk thread
is free, and hands each finished chunk's answers back to it.

* :class:`FixedChunks`: the chunks of :func:`~.batch.split_evenly`, for a primary without an
  upstream budget (its pace is fixed, so every chunk can be sized at the start).
* :class:`PacedChunks`: under an upstream budget the pace is learned while the batch runs: it
  starts at 5 requests/s, may end at 2/s or 80/s. Each chunk is cut when it starts, as large as
  the rate *now* lets its requests fit in half the deadline (the other half is the fallback's),
  at most ``batch_size``; one chunk runs at a time while the rate is low, since one chunk's
  symbols already keep the adapter's threads waiting on the pace, two once each can be full.
  Large chunks are the request economy: one v7 quote per chunk (DESIGN.md, issue 14). A symbol
  that our own pacing refused before any request for it went out (``throttled`` because no
  slot came within the deadline, ``upstream_cooling`` because a cool-down outlasted it) was
  never asked, so it goes back to the end of the line, at most :data:`MAX_REQUEUES` times,
  instead of failing: a rate cut in the middle of a chunk loses nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Protocol

from ..errors import DeadlineExceededError, ThrottledError, UpstreamCoolingError
from ..result import DataSource, FetchResult

#: How often a symbol refused by our own pacing before any request goes back in line.
MAX_REQUEUES = 2

#: Requests per symbol assumed before the upstream has counted its own: one quoteSummary per
#: symbol and one v7 quote per chunk (the adapters' economy), plus the cookie and crumb.
REQUESTS_PER_SYMBOL_GUESS = 1.1

#: Skip codes that mean no request for the symbol went out (our pacing, or its deadline).
_NEVER_SENT = frozenset({ThrottledError.code, UpstreamCoolingError.code,
                         DeadlineExceededError.code})


class ChunkFeed(Protocol):
    """The chunks of one batch, handed out as chunk threads free up."""

    def take(self, running: int) -> list[str] | None:
        """The next chunk to start while ``running`` chunks run; None: none now."""
        ...

    def exhausted(self) -> bool:
        """True when no symbol is waiting for a chunk (those running may still come back)."""
        ...

    def settle(self, answers: Mapping[str, FetchResult]) -> dict[str, FetchResult]:
        """A finished chunk's answers: those that are final (the rest are back in line)."""
        ...


class FixedChunks:
    """Chunks cut up front, handed out in order; every answer is final."""

    def __init__(self, chunks: Sequence[list[str]]) -> None:
        self._chunks = deque(chunks)

    def take(self, running: int) -> list[str] | None:
        """The next chunk, if any is left."""
        return self._chunks.popleft() if self._chunks else None

    def exhausted(self) -> bool:
        """True when every chunk was taken."""
        return not self._chunks

    def settle(self, answers: Mapping[str, FetchResult]) -> dict[str, FetchResult]:
        """All of ``answers``."""
        return dict(answers)


class Pace(Protocol):
    """What :class:`PacedChunks` reads of the upstream budget."""

    @property
    def rate_per_s(self) -> float:
        """Requests per second now."""
        ...

    def requests_per_symbol(self, *, default: float) -> float:
        """Requests per symbol served so far (``default`` until it has counted some)."""
        ...


class PacedChunks:
    """Chunks cut one at a time to the pace of an upstream budget (see the module docstring).

    Args:
        symbols: the batch's symbols, in order.
        pace: the primary's upstream budget.
        max_size: the most symbols per chunk (``batch_size``).
        deadline_s: each walk's deadline.
        max_running: the most chunks at once (2).
    """

    def __init__(self, symbols: Sequence[str], pace: Pace, *, max_size: int,
                 deadline_s: float, max_running: int = 2) -> None:
        self._line = deque(symbols)
        self._pace = pace
        self._max_size = max_size
        self._deadline_s = deadline_s
        self._max_running = max_running
        self._requeued: dict[str, int] = {}

    def take(self, running: int) -> list[str] | None:
        """The next chunk sized to the pace now, unless enough chunks run for it."""
        if not self._line:
            return None
        symbols_per_s = self._pace.rate_per_s / self._pace.requests_per_symbol(
            default=REQUESTS_PER_SYMBOL_GUESS)
        size, concurrency = self.sizing(symbols_per_s)
        if running >= concurrency:
            return None
        return [self._line.popleft() for _ in range(min(size, len(self._line)))]

    def sizing(self, symbols_per_s: float) -> tuple[int, int]:
        """Symbols per chunk and chunks at once at ``symbols_per_s``: the chunks running
        together fit their symbols in half the deadline."""
        for concurrency in range(self._max_running, 1, -1):
            if symbols_per_s * self._deadline_s / (2 * concurrency) >= self._max_size:
                return self._max_size, concurrency
        fit = int(symbols_per_s * self._deadline_s / 2)
        return max(1, min(self._max_size, fit)), 1

    def exhausted(self) -> bool:
        """True when no symbol waits for a chunk."""
        return not self._line

    def settle(self, answers: Mapping[str, FetchResult]) -> dict[str, FetchResult]:
        """The final answers of a chunk; symbols never asked for go back in line."""
        final: dict[str, FetchResult] = {}
        for symbol, result in answers.items():
            times = self._requeued.get(symbol, 0)
            if times < MAX_REQUEUES and never_sent(result):
                self._requeued[symbol] = times + 1
                self._line.append(symbol)
            else:
                final[symbol] = result
        return final


def never_sent(result: FetchResult) -> bool:
    """Whether ``result`` is an error for a symbol no provider sent a request for: every
    provider skipped it for our pacing or its deadline, and no cache entry could answer."""
    if result.source is not DataSource.ERROR:
        return False
    asked = [a for a in result.attempts if a.step != "cache"]
    return bool(asked) and all(a.outcome == "skipped" and a.error_code in _NEVER_SENT
                               and not a.retries for a in asked)
