"""A bounded thread pool, built on first use, shared by an adapter's multi-symbol calls."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from ..threads import DaemonThreadPool

T = TypeVar("T")
R = TypeVar("R")


class LazyWorkers:
    """Up to ``max_workers`` threads, started only when a call needs more than one."""

    def __init__(self, max_workers: int, *, name: str) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers!r}")
        self.max_workers = max_workers
        self._name = name
        self._lock = threading.Lock()
        self._pool: DaemonThreadPool | None = None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``fn`` over ``items`` on the pool; results in input order (one item: no thread)."""
        work = list(items)
        if len(work) <= 1:
            return [fn(item) for item in work]
        with self._lock:
            if self._pool is None:
                # Daemon threads: they send HTTP requests that may hang until the library's
                # timeout, and interpreter exit must not wait for an answer nobody will read.
                self._pool = DaemonThreadPool(self.max_workers, name=f"rp-{self._name}")
            pool = self._pool
        # Each item runs in a copy of the caller's context: the request's deadline and its log
        # ids (context variables) reach the library's requests on the pool's threads.
        futures = [pool.submit(contextvars.copy_context().run, fn, item) for item in work]
        return [future.result() for future in futures]

    def close(self) -> None:
        """Stop the threads; queued work is cancelled, running work is not waited for."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
