"""The recorders still open in this process, closed (flushed, their runs ended) at its exit.

Interpreter exit is one event for the whole process, so the open recorders are kept in one
process-wide set, closed by one exit hook: ``atexit`` for a normal exit, and a
``multiprocessing`` finalizer for a child started by fork, which ends with ``os._exit()`` and
runs no ``atexit`` hook. Only :func:`register` and :func:`unregister` take the lock (from a
recorder's ``__init__`` and ``close``), never a finalizer: see :mod:`.recorder`.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import os
import threading
from typing import Protocol

from ..logs import get_logger

log = get_logger(__name__)


class OpenRun(Protocol):
    """What the exit hook needs of a recorder."""

    pid: int  # the process that opened it: only that one may end its run

    def close(self, *, wait_s: float = ...) -> None: ...


_OPEN: set[OpenRun] = set()
_OPEN_LOCK = threading.Lock()
_EXIT_HOOK_PID: int | None = None  # the process whose multiprocessing exit runs the hook


def register(recorder: OpenRun) -> None:
    """Have ``recorder`` closed at this process's exit unless it is closed before."""
    global _EXIT_HOOK_PID
    with _OPEN_LOCK:
        _OPEN.add(recorder)
        if os.getpid() != _EXIT_HOOK_PID:
            _EXIT_HOOK_PID = os.getpid()
            # multiprocessing clears the finalizers a forked child inherits: one per process.
            multiprocessing.util.Finalize(None, close_open_recorders, exitpriority=0)


def unregister(recorder: OpenRun) -> None:
    """``recorder`` was closed: nothing left to do at exit."""
    with _OPEN_LOCK:
        _OPEN.discard(recorder)


def _forget_parents_recorders() -> None:
    """In a forked child: the parent's recorders are the parent's to end, and a lock another
    thread of the parent held at the fork would stay held here for ever."""
    global _OPEN, _OPEN_LOCK, _EXIT_HOOK_PID
    _OPEN, _OPEN_LOCK, _EXIT_HOOK_PID = set(), threading.Lock(), None


os.register_at_fork(after_in_child=_forget_parents_recorders)


@atexit.register
def close_open_recorders() -> None:
    """Close every recorder this process opened and did not close (the exit hook)."""
    with _OPEN_LOCK:
        recorders = [r for r in _OPEN if r.pid == os.getpid()]
    for recorder in recorders:
        try:
            # Bounded: exit must not wait long for a close under way on the recorder's thread.
            recorder.close(wait_s=1.0)
        except Exception as exc:  # noqa: BLE001 - one failing recorder must not stop the rest
            log.warning("closing statistics at exit failed: %s: %s", type(exc).__name__, exc)
