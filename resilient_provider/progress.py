"""The progress bar of a batch on stderr, for a person watching a long one.

The batch engine reports to any :class:`~resilient_provider.strategy.batch.Progress`; this is
the one people see (drawn with rich). ``batch_fetch(progress=...)`` picks it.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from typing import TextIO

from .strategy.batch import NoProgress, Progress

#: Batches of at least this many distinct symbols show a progress bar on a terminal.
PROGRESS_MIN_SYMBOLS = 20


class _RichProgress:
    """A rich progress bar on stderr, as a context manager with :meth:`advance`."""

    def __init__(self, total: int, stream: TextIO) -> None:
        from rich.console import Console  # imported here: batches without a bar stay light
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(TextColumn("fetching"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                             console=Console(file=stream), transient=True)
        self._task = self._bar.add_task("fetching", total=total)

    def __enter__(self) -> _RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def advance(self, count: int) -> None:
        """Move the bar ``count`` symbols on."""
        self._bar.advance(self._task, count)


def progress_bar(total: int, wanted: bool | None, *,
                 stream: TextIO | None = None) -> AbstractContextManager[Progress]:
    """A bar for ``total`` symbols: ``wanted`` True shows it, False hides it, None shows it only
    for at least :data:`PROGRESS_MIN_SYMBOLS` symbols when ``stream`` (stderr) is a terminal."""
    stream = stream if stream is not None else sys.stderr
    if wanted is None:
        wanted = total >= PROGRESS_MIN_SYMBOLS and stream.isatty()
    if not wanted or total == 0:
        return nullcontext(NoProgress())
    return _RichProgress(total, stream)
