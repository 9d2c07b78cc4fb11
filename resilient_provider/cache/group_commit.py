"""Group commit: the threads of one process write the cache through one writer at a time.

Before, each writing thread queued for the cache's write lock and gave up after a second: a
thread holding it may wait half a second for another *process's* SQLite lock, so behind two
such waits the rest of a queue of 16 threads gave up and their entries were not stored (28
skipped writes in a 60 s run of 20 threads in 5 processes, issue 15). Here a thread that finds
the lock taken leaves its rows with the holder and returns at once: the holder writes them
before it lets go of the lock, in its own transaction or the next one. So a caller does not
wait behind another thread's write (unless :data:`BACKLOG_ROWS` are already waiting: then it
waits its turn, so that writers cannot outrun the writer and pile rows up in memory), a
process sends SQLite one transaction at a time however many threads write, and a write that
fails for want of a lock is not lost: its rows stay pending and go with the next write (or at
close). Rows left pending are what reads of this process see
first, so a thread always reads what any thread of its process wrote.

Pending rows are bounded (:data:`MAX_PENDING_ROWS`): on a cache that keeps failing (a full
disk) the oldest are dropped, with a WARNING, rather than memory growing for ever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from ..logs import get_logger

log = get_logger(__name__)

#: Rows one process keeps waiting for the cache at most (a few KiB each).
MAX_PENDING_ROWS = 5_000

#: Rows pending beyond which a writer waits its turn (up to ``backlog_wait_s``) instead of
#: leaving its rows and returning: the backpressure that keeps pending rows few.
BACKLOG_ROWS = 20

#: Batches one :meth:`GroupCommit.write_pending` writes at most: under a steady stream of
#: writes from other threads, one caller is not kept writing theirs for ever.
_ROUNDS = 4

#: A row to write: its key, its bytes and diskcache's ``expire`` (seconds, or None).
Row = tuple[bytes, float | None]


class GroupCommit:
    """Rows from many threads, written by whichever thread holds ``lock``.

    Args:
        lock: the cache's write lock (reentrant); every holder runs its block in
            :meth:`holding`, so the rows left with it are written before it is released.
        commit: writes a batch of rows in one transaction (all or none); raises on failure.
        busy: the errors that mean only "the database was locked": the rows stay pending
            quietly. After any other error they stay pending too, and the error is raised to
            the submitter whose write it was (or logged, when it was another thread's).
    """

    def __init__(self, lock: threading.RLock, commit: Callable[[Mapping[str, Row]], None],
                 *, busy: tuple[type[BaseException], ...], backlog_wait_s: float = 1.0) -> None:
        self._lock = lock
        self._commit = commit
        self._busy = busy
        self._backlog_wait_s = backlog_wait_s
        self._pending: dict[str, Row] = {}
        self._mutex = threading.Lock()  # guards _pending only, never held while writing
        self._depth = threading.local()  # how deep this thread is in holding()

    def submit(self, rows: Mapping[str, Row]) -> None:
        """Have ``rows`` written: now, by this thread, when the lock is free; else by the
        thread holding it, before it lets go.

        Raises:
            Exception: the commit failed for another reason than a busy database (a full
                disk); the rows stay pending for the next write.
        """
        with self._mutex:
            for key, row in rows.items():
                self._pending.pop(key, None)  # re-inserted: the order is oldest first
                self._pending[key] = row
            self._bound()
            backlog = len(self._pending) > BACKLOG_ROWS
        # Past the backlog, wait for the lock like a plain writer: writers must not outrun
        # the one writing (a 5,000-symbol batch's 32 threads left 3,288 rows, 30 MiB, pending).
        failure = self.write_pending(wait_s=self._backlog_wait_s if backlog else 0.0)
        if failure is not None:
            raise failure

    def pending_many(self, keys: list[str]) -> dict[str, Row]:
        """The rows still waiting to be written under those ``keys`` (newer than the cache's)."""
        with self._mutex:
            if not self._pending:
                return {}
            return {key: self._pending[key] for key in keys if key in self._pending}

    def pending_keys(self) -> list[str]:
        """The keys of every row still waiting to be written."""
        with self._mutex:
            return list(self._pending)

    def discard(self, keys: list[str] | None = None) -> None:
        """Forget pending rows of ``keys`` (all of them for None): deleted or cleared."""
        with self._mutex:
            if keys is None:
                self._pending.clear()
            else:
                for key in keys:
                    self._pending.pop(key, None)

    @property
    def waiting(self) -> int:
        """How many rows are waiting to be written."""
        with self._mutex:
            return len(self._pending)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Mark a block run while this thread holds the lock: when the outermost one ends
        without an error, the rows left pending meanwhile are written (still under the lock;
        a failure is logged, never raised into the block's caller)."""
        depth = getattr(self._depth, "value", 0)
        self._depth.value = depth + 1
        try:
            yield
            if depth == 0:
                self._log(self._write_batch())
        finally:
            self._depth.value = depth

    def write_pending(self, *, wait_s: float = 0.0) -> Exception | None:
        """Write what is pending unless another thread holds the lock (it will, before it
        lets go; rows left after that are taken up by the loop here). ``wait_s`` waits that
        long for the lock (at close). Returns the error of a failed commit other than a busy
        database; the rows are then still pending."""
        for _ in range(_ROUNDS):
            with self._mutex:
                if not self._pending:
                    return None
            got = (self._lock.acquire(timeout=wait_s) if wait_s > 0
                   else self._lock.acquire(blocking=False))
            if not got:
                return None  # its holder writes them before letting go
            try:
                if getattr(self._depth, "value", 0):
                    return None  # in holding() on this thread: written when that block ends
                failure = self._write_batch()
            finally:
                self._lock.release()
            if failure is not None:
                return None if isinstance(failure, self._busy) else failure
        return None  # still more: a writer of them or the next write takes them up

    def _write_batch(self) -> Exception | None:
        """Write every pending row in one commit (lock held); on failure put them back and
        return the error."""
        with self._mutex:
            batch, self._pending = self._pending, {}
        if not batch:
            return None
        try:
            self._commit(batch)
        except Exception as exc:  # noqa: BLE001 - handed back: the submitter raises it
            with self._mutex:
                # Rows submitted meanwhile are newer: they win over the batch's.
                self._pending = {**batch, **self._pending}
                self._bound()
            if isinstance(exc, self._busy):
                log.debug("cache busy: %d writes kept for the next one (%s)", len(batch), exc)
            return exc
        return None

    def _log(self, failure: Exception | None) -> None:
        if failure is not None and not isinstance(failure, self._busy):
            log.warning("cache write failed, %d writes kept for the next one: %s: %s",
                        self.waiting, type(failure).__name__, failure)

    def _bound(self) -> None:
        """Drop the oldest pending rows beyond :data:`MAX_PENDING_ROWS` (mutex held)."""
        excess = len(self._pending) - MAX_PENDING_ROWS
        if excess <= 0:
            return
        for key in list(self._pending)[:excess]:
            del self._pending[key]
        log.warning("the cache keeps failing: dropped %d cache writes waiting for it "
                    "(keeping the newest %d)", excess, MAX_PENDING_ROWS)
