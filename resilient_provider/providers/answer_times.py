"""When each symbol's answer was ready within one provider call: the seam that gives every
symbol of a batch its own latency, not its call's.

The strategy sets :data:`ANSWER_TIMES` to a fresh :class:`AnswerTimes` around each provider
call; an adapter that finishes symbols one by one (yfinance: each symbol's quoteSummary on its
own thread; yahooquery: chunk by chunk) calls :func:`answered` as they are ready. A symbol no
one marks is taken as ready when the call returns, which is all a provider that never calls
it (a third-party one) can say.
"""

from __future__ import annotations

import contextvars
import time


class AnswerTimes:
    """The ``time.perf_counter()`` at which each symbol of one call was answered (first mark
    wins: a symbol asked again within the call keeps its first answer's time)."""

    def __init__(self) -> None:
        self._at: dict[str, float] = {}

    def mark(self, symbols: tuple[str, ...]) -> None:
        """``symbols`` are answered now."""
        now = time.perf_counter()
        for symbol in symbols:
            self._at.setdefault(symbol, now)  # one dict operation each: safe across threads

    def at(self, symbol: str) -> float | None:
        """When ``symbol`` was marked answered (None: not marked)."""
        return self._at.get(symbol)


#: The answer times of the provider call running in this context (None: nobody is asking).
ANSWER_TIMES: contextvars.ContextVar[AnswerTimes | None] = contextvars.ContextVar(
    "resilient_provider_answer_times", default=None)


def answered(*symbols: str) -> None:
    """Mark ``symbols`` answered now, in the call that is running (a no-op outside one)."""
    times = ANSWER_TIMES.get()
    if times is not None:
        times.mark(symbols)
