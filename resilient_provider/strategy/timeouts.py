"""Bounding time: a per-request :class:`Deadline`, and a :class:`CallRunner` that can walk
away from one call."""

from __future__ import annotations

import contextvars
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

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


class CallRunner:
    """Runs calls on reusable *daemon* threads, so that a call can be abandoned on timeout.

    :meth:`call` returns ``fn()``'s result or raises :class:`TimeoutError` after ``timeout_s``;
    a call that overruns is left running on its thread, which takes no other call until that
    one returns, and its late result is discarded.

    Why not the obvious tools: a ``ThreadPoolExecutor`` joins its workers at interpreter exit,
    so one hung provider call would hang the exit, and abandoned calls would use up a fixed
    pool. A fresh thread per call is exit-safe but slow: HTTP clients keep per-thread state
    (curl_cffi a curl handle, with its open connections, per thread), so every call would
    reconnect; measured on a loopback Yahoo, that was 1.3 ms of a 5.5 ms yfinance look-up.
    Here idle threads wait for the next call (the most recently used first, warmest
    connections), and a new one starts only when all are busy.

    Args:
        name: thread name prefix.
        max_idle: idle threads kept; more than that exit after their call.
    """

    def __init__(self, *, name: str = "provider-call", max_idle: int = 8) -> None:
        self._name = name
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[_Job | None]] = []
        self._started = 0
        self._closed = False
        _RUNNERS.add(self)

    def _forget_threads(self) -> None:
        """In a forked child: the parent's threads did not come along (a call would wait for
        an idle thread that is not there), and a lock one of them held would stay held."""
        self._lock = threading.Lock()
        self._idle = []

    def call(self, fn: Callable[[], T], timeout_s: float) -> T:
        """``fn()`` on a runner thread with the caller's context variables (the correlation id),
        its exception re-raised here; :class:`TimeoutError` after ``timeout_s``."""
        future: Future[T] = Future()
        job = _Job(fn, future, contextvars.copy_context())
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self._started += 1
                number = self._started
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), daemon=True,
                             name=f"{self._name}-{number}").start()
        inbox.put(job)
        return future.result(timeout=timeout_s)

    def idle(self) -> int:
        """How many threads wait for a call right now."""
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        """Let the idle threads exit; a busy one exits when its call returns."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for inbox in idle:
            inbox.put(None)

    def _serve(self, inbox: queue.SimpleQueue[_Job | None]) -> None:
        while (job := inbox.get()) is not None:
            job.run()
            with self._lock:
                stay = not self._closed and len(self._idle) < self._max_idle
                if stay:
                    # Idle again *before* the caller hears back, so its next call finds this
                    # (warm) thread rather than racing it and starting another.
                    self._idle.append(inbox)
            job.deliver()
            del job  # drop the result before waiting for the next call
            if not stay:
                return


class _Job:
    """One call for a runner thread: the function, its context, and where its outcome goes."""

    __slots__ = ("_outcome", "context", "fn", "future")

    def __init__(self, fn: Callable[[], Any], future: Future[Any],
                 context: contextvars.Context) -> None:
        self.fn = fn
        self.future = future
        self.context = context
        self._outcome: tuple[bool, Any] = (False, None)

    def run(self) -> None:
        try:
            self._outcome = (True, self.context.run(self.fn))
        except BaseException as exc:  # noqa: BLE001 - handed over to the waiting caller as-is
            self._outcome = (False, exc)

    def deliver(self) -> None:
        ok, value = self._outcome
        if ok:
            self.future.set_result(value)
        else:
            self.future.set_exception(value)


#: Every runner, so that a forked child can give each a fresh start (see _forget_threads).
_RUNNERS: weakref.WeakSet[CallRunner] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for runner in list(_RUNNERS):
        runner._forget_threads()


os.register_at_fork(after_in_child=_after_fork_in_child)
