"""A thread pool whose threads never hold up interpreter exit.

Why not ``concurrent.futures.ThreadPoolExecutor``: it registers its workers with
``threading._register_atexit``, and at exit ``concurrent.futures`` joins every one of them
*after letting each finish the work already queued*. A provider call is an HTTP request that
may hang until its (library's) timeout, and an ``afetch`` waits out its whole deadline, so one
abandoned call made the interpreter wait 10-30 s at exit for an answer nobody would read. The
threads here are daemon threads: exit does not wait for them, and what they were doing is
dropped. That is only right for work whose result is the sole thing lost, which is all the
library runs on them (fetches, whose statistics are flushed by the recorder's own exit hook).
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class DaemonThreadPool(Executor):
    """Up to ``max_workers`` daemon threads, started as work arrives, for ``submit``/``map``.

    Behaves like ``ThreadPoolExecutor`` (work is queued when every thread is busy; idle threads
    are reused) except that interpreter exit neither joins its threads nor runs its queue.

    Args:
        max_workers: the most threads running at once.
        name: thread name prefix.
    """

    def __init__(self, max_workers: int, *, name: str = "rp-worker") -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers!r}")
        self.max_workers = max_workers
        self._name = name
        self._work: queue.SimpleQueue[_WorkItem | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        # Items queued and not yet taken, and threads waiting to take one: a thread is started
        # when there are more of the first than of the second (and room for one more).
        self._unclaimed = 0
        self._waiting = 0
        self._shutdown = False
        _POOLS.add(self)

    def _forget_threads(self) -> None:
        """In a forked child: the parent's threads and the work queued for them did not come
        along (work submitted would wait for ever), and a lock one of them held stays held."""
        self._work = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = []
        self._unclaimed = self._waiting = 0

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` on a pool thread; RuntimeError after :meth:`shutdown`."""
        future: Future[T] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit work to a pool that was shut down")
            self._work.put(_WorkItem(future, fn, args, kwargs))
            self._unclaimed += 1
            if self._unclaimed > self._waiting and len(self._threads) < self.max_workers:
                thread = threading.Thread(target=self._serve, daemon=True,
                                          name=f"{self._name}-{len(self._threads) + 1}")
                self._threads.append(thread)
                thread.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; with ``cancel_futures`` drop what is queued; with ``wait`` join
        the threads (never from one of them)."""
        with self._lock:
            self._shutdown = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    item = self._work.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item.future.cancel()
        for _ in threads:
            self._work.put(None)  # one stop mark per thread, behind the work still queued
        if wait:
            current = threading.current_thread()
            for thread in threads:
                if thread is not current:
                    thread.join()

    def _serve(self) -> None:
        while True:
            with self._lock:
                self._waiting += 1
            item = self._work.get()
            with self._lock:
                self._waiting -= 1
                if item is not None:
                    self._unclaimed -= 1
            if item is None:
                return  # a stop mark: whatever the queue still holds is for the other threads
            item.run()
            del item  # drop the result before waiting for the next item


class _WorkItem:
    """One submitted call and the future its outcome goes to."""

    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(self, future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the future's reader as-is
            self.future.set_exception(exc)
            return
        self.future.set_result(result)


#: Every pool, so that a forked child can give each a fresh start (see _forget_threads).
_POOLS: weakref.WeakSet[DaemonThreadPool] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pool in list(_POOLS):
        pool._forget_threads()


os.register_at_fork(after_in_child=_after_fork_in_child)
