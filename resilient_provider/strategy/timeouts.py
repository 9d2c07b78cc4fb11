"""Bounding time: a per-request :class:`Deadline` and :func:`call_with_timeout` for one call."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """The time left for one request, by the injected clock *and* by real elapsed time.

    The injected clock carries the bookkeeping of waits (a test clock that "sleeps" by advancing
    spends the budget without real time passing); the monotonic clock guarantees the budget also
    holds in real time, whatever the injected clock does.
    """

    def __init__(self, budget_s: float, clock: Callable[[], float]) -> None:
        self.budget_s = budget_s
        self._clock = clock
        self._clock_end = clock() + budget_s
        self._real_end = time.monotonic() + budget_s

    def remaining_s(self) -> float:
        """Seconds left, never negative."""
        left = min(self._clock_end - self._clock(), self._real_end - time.monotonic())
        return max(0.0, left)

    @property
    def expired(self) -> bool:
        """True once no time is left."""
        return self.remaining_s() <= 0.0


def call_with_timeout(fn: Callable[[], T], timeout_s: float, *, name: str = "provider-call") -> T:
    """Run ``fn`` and return its result, or raise :class:`TimeoutError` after ``timeout_s``.

    The call runs in a fresh *daemon* thread that is abandoned on timeout: a hung provider then
    cannot hold up the caller nor, unlike a ``ThreadPoolExecutor`` worker (joined at interpreter
    exit), the process's exit. Its late result is discarded. The caller's context variables
    (the correlation id) go along. An exception raised by ``fn`` is re-raised here.
    """
    future: Future[T] = Future()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            result = context.run(fn)
        except BaseException as exc:  # noqa: BLE001 - handed over to the waiting caller as-is
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future.result(timeout=timeout_s)
