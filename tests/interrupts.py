"""Ctrl-C on cue: a batch Progress that sends SIGINT to the main thread once N symbols settled.

The batch engine reports each settled chunk to its Progress from the main thread; this one
counts, and when the count is reached a helper thread sends SIGINT to the main thread (as a
terminal's Ctrl-C does) with ``signal.pthread_kill``, so the KeyboardInterrupt lands wherever
the main thread is, typically waiting for the chunks still running. No sleeps: the helper
waits on an event the count sets.
"""

from __future__ import annotations

import signal
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any


class InterruptAfter:
    """A Progress that has SIGINT sent to the main thread once ``count`` symbols settled (and
    ``also``, when given, is set)."""

    def __init__(self, count: int, *, also: threading.Event | None = None) -> None:
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, \
            "SIGINT must raise KeyboardInterrupt here"
        self.settled = 0
        self._count = count
        self._also = also
        self._reached = threading.Event()
        self._cancelled = False
        self.sent = threading.Event()
        self._main = threading.main_thread().ident
        self._sender = threading.Thread(target=self._send, daemon=True, name="test-sigint")
        self._sender.start()

    def advance(self, count: int) -> None:
        """Count ``count`` more settled symbols (called by the batch, on the main thread)."""
        self.settled += count
        if self.settled >= self._count:
            self._reached.set()

    def bar(self, total: int, wanted: bool | None, **_: Any) -> AbstractContextManager[Any]:
        """Stands in for :func:`resilient_provider.progress.progress_bar`."""
        return nullcontext(self)

    def cancel(self) -> None:
        """Send nothing after all (call in a test's cleanup: a late SIGINT would stop pytest).

        The sender is a daemon thread that checks this flag right before sending, so nothing
        is joined here (it may still be waiting for ``also``)."""
        self._cancelled = True
        self._reached.set()

    def _send(self) -> None:
        if not self._reached.wait(timeout=60) or self._cancelled:
            return
        if self._also is not None and (not self._also.wait(timeout=60) or self._cancelled):
            return
        assert self._main is not None
        if self._cancelled:
            return
        signal.pthread_kill(self._main, signal.SIGINT)
        self.sent.set()
