"""Batches: plan, split, run, assemble.

:func:`plan_batch` turns the caller's list into distinct valid symbols (and input errors,
found without any I/O), :func:`split_evenly` cuts those into provider calls of at most
:func:`chunk_limit` symbols, :func:`run_chunks` runs the chunks on a bounded pool, reporting to
a :class:`Progress`, and :func:`assemble` gives back one answer per input item, in input order.
The engine (:mod:`.engine`) drives them; the progress bar a person sees is
:mod:`resilient_provider.progress`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import InvalidSymbolError
from ..redaction import safe_repr
from ..result import DataSource, FetchResult
from ..symbols import normalize_symbol
from ..threads import DaemonThreadPool
from .chunk_feed import ChunkFeed, FixedChunks

#: Chunks of a batch in flight per provider-call slot (``max_concurrent_requests``): a chunk
#: waiting out a retry backoff holds no slot, and another chunk uses it meanwhile, so a batch
#: under 429s keeps its providers busy instead of sleeping in step.
CHUNKS_PER_SLOT = 2

#: How often, in seconds, a batch waiting for its chunks wakes up. A SIGINT that lands just
#: before the main thread blocks on a lock is only acted on when the thread next runs Python
#: code: an untimed wait would sit on a Ctrl-C until the next chunk finished.
WAKE_S = 0.25


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """A batch as asked: every distinct input item, and what it stands for.

    ``symbol_of`` maps each valid input item (as given: ``" aapl"`` stays ``" aapl"``) to its
    normalised symbol; ``invalid`` maps each item that is no symbol to its error; ``keys`` is
    every distinct item in input order; ``symbols`` the distinct normalised symbols to fetch.
    """

    keys: tuple[Hashable, ...]
    symbol_of: dict[Hashable, str]
    invalid: dict[Hashable, InvalidSymbolError]
    symbols: tuple[str, ...]


def plan_batch(items: Iterable[object]) -> BatchPlan:
    """Validate and de-duplicate ``items``; duplicates and case variants map to one symbol.

    Raises :class:`InvalidSymbolError` when ``items`` is one string (its letters would be read
    as symbols) and ``TypeError`` when it is not iterable or holds an unhashable item: those
    are mistakes in the calling code, unlike a bad symbol in a list, which is reported.
    """
    if isinstance(items, str | bytes):
        raise InvalidSymbolError(
            f"expected a list of symbols, got the single string {safe_repr(items, 60)}; "
            "wrap it in a list")
    try:
        iterator = iter(items)
    except TypeError:
        raise TypeError(f"symbols must be an iterable of strings, got "
                        f"{type(items).__name__}") from None
    symbol_of: dict[Hashable, str] = {}
    invalid: dict[Hashable, InvalidSymbolError] = {}
    keys: dict[Hashable, None] = {}
    for item in iterator:
        if not isinstance(item, Hashable):
            raise TypeError(f"symbols must be strings, got unhashable {type(item).__name__} "
                            f"{safe_repr(item, 60)}")
        if item in keys:
            continue
        keys[item] = None
        try:
            symbol_of[item] = normalize_symbol(item)
        except InvalidSymbolError as exc:
            invalid[item] = exc
    return BatchPlan(tuple(keys), symbol_of, invalid, tuple(dict.fromkeys(symbol_of.values())))


def chunk_limit(batch_size: int, *, workers: int, rate_per_s: float, deadline_s: float) -> int:
    """The most symbols one provider call of a batch should carry.

    ``batch_size``, lowered under a rate limit so that the chunks in flight at once can all get
    their permits within half the deadline: otherwise the last of them would be refused and fall
    over only because we paced ourselves.
    """
    if rate_per_s <= 0:
        return batch_size
    return max(1, min(batch_size, math.floor(rate_per_s * deadline_s / (2 * workers))))


def split_evenly(symbols: Sequence[str], *, workers: int, max_size: int) -> list[list[str]]:
    """Cut ``symbols`` into as few chunks of at most ``max_size`` as will do, sizes differing by
    at most one.

    A batch that needs more chunks than ``workers`` gets a multiple of ``workers`` (whole
    rounds), so no worker is left with a long tail while the others idle. A smaller one stays
    as few provider calls as it can: the built-in adapters fetch a call's symbols in parallel.
    """
    n = len(symbols)
    if n == 0:
        return []
    count = math.ceil(n / max_size)
    if count > workers:
        count = min(n, workers * math.ceil(count / workers))
    size, extra = divmod(n, count)
    chunks, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        chunks.append(list(symbols[start:end]))
        start = end
    return chunks


class Progress(Protocol):
    """What a batch reports its progress to: the count of symbols answered since last time."""

    def advance(self, count: int) -> None:
        """``count`` more symbols have their answer."""


class NoProgress:
    """Progress nobody watches."""

    def advance(self, count: int) -> None:
        """Ignore ``count``."""


class BatchTail:
    """Whether a batch has started its last chunk.

    Until then a chunk waiting out a retry backoff leaves its call slot to a queued chunk, and
    the wait costs the batch nothing. From then on nothing is left to overlap a wait, so the
    chunks still running send their retriable failures on to the next provider at once (see
    ``Cascade.walk``): the batch ends when its slowest chunk does, and that chunk's backoffs
    (0.5 s, then 1 s by default) would otherwise be added whole to the batch's time.
    """

    def __init__(self) -> None:
        self._reached = threading.Event()

    def reach(self) -> None:
        """Mark the last chunk as started."""
        self._reached.set()

    def reached(self) -> bool:
        """True once the last chunk has started."""
        return self._reached.is_set()


def run_chunks(chunks: Sequence[list[str]] | ChunkFeed,
               run_chunk: Callable[[list[str]], Mapping[str, FetchResult]], *,
               workers: int, progress: Progress,
               tail: BatchTail | None = None) -> dict[str, FetchResult]:
    """Run every chunk on at most ``workers`` threads; one result per symbol.

    ``chunks`` is a list, or a :class:`~.chunk_feed.ChunkFeed` that cuts each chunk when a
    thread is free for it and may put a finished chunk's symbols back in line. Chunks are
    started no faster than threads free up, so a 5,000-symbol batch holds a handful of pending
    futures, not thousands. ``tail`` is reached once no symbol is left waiting for a chunk.
    """
    feed = FixedChunks(chunks) if isinstance(chunks, Sequence) else chunks
    results: dict[str, FetchResult] = {}
    first = feed.take(0)
    if first is not None and feed.exhausted():  # no pool for a single call
        if tail is not None:
            tail.reach()
        try:
            _settle(feed, run_chunk(first), results, progress)
        except KeyboardInterrupt as exc:
            raise BatchInterrupted(results) from exc
        first = feed.take(0)
    if first is None and feed.exhausted():
        return results
    pending: set[Future[Mapping[str, FetchResult]]] = set()
    # Daemon threads: a batch abandoned at interpreter exit (its caller a daemon thread or an
    # abandoned afetch) must not hold exit while its chunks wait out their deadlines.
    pool = DaemonThreadPool(workers, name="rp-batch")
    interrupted = False
    try:
        chunk = first
        while True:
            while chunk is not None:
                pending.add(pool.submit(run_chunk, chunk))
                if feed.exhausted() and tail is not None:
                    tail.reach()
                chunk = feed.take(len(pending)) if len(pending) < workers else None
            if not pending:
                break
            done, pending = wait(pending, timeout=WAKE_S, return_when=FIRST_COMPLETED)
            if not done:
                continue  # woken up only so that a Ctrl-C is seen (see WAKE_S)
            for future in done:
                _settle(feed, future.result(), results, progress)
            chunk = feed.take(len(pending))
    except KeyboardInterrupt as exc:
        # Ctrl-C: keep what the chunks answered (those finished but not yet read too) and
        # leave at once; the chunks still running are dropped, not waited for.
        interrupted = True
        pool.shutdown(wait=False, cancel_futures=True)
        for future in pending:
            if future.done() and not future.cancelled() and future.exception() is None:
                results.update(feed.settle(future.result()))
        raise BatchInterrupted(results) from exc
    finally:
        if not interrupted:
            pool.shutdown(wait=True)
    return results


class BatchInterrupted(KeyboardInterrupt):
    """A KeyboardInterrupt (Ctrl-C) that landed in a batch, with the answers it had by then.

    Still a KeyboardInterrupt (code that stops on Ctrl-C keeps stopping); ``results`` are the
    answers settled before it (``{symbol as given: FetchResult}`` in input order from
    ``batch_fetch``, ``HistoryResult`` from ``batch_get_history``), ``missing`` the items left
    without one.
    """

    def __init__(self, results: Mapping[Any, Any], missing: Sequence[Any] = ()) -> None:
        super().__init__(f"batch interrupted with {len(results)} answered and "
                         f"{len(missing)} not")
        self.results: dict[Any, Any] = dict(results)
        self.missing: tuple[Any, ...] = tuple(missing)


def _settle(feed: ChunkFeed, answers: Mapping[str, FetchResult],
            results: dict[str, FetchResult], progress: Progress) -> None:
    final = feed.settle(answers)
    results.update(final)
    progress.advance(len(final))


def assemble(plan: BatchPlan, results: Mapping[str, FetchResult], *,
             partial: bool = False) -> dict[Any, FetchResult]:
    """One result per distinct input item, in input order, each naming the item as its ticker;
    with ``partial``, only the items ``results`` answers (and the invalid ones)."""
    out: dict[Any, FetchResult] = {}
    for key in plan.keys:
        symbol = plan.symbol_of.get(key)
        if symbol is None:
            error = plan.invalid[key]
            shown = key if isinstance(key, str) else repr(key)
            out[key] = FetchResult(symbol=shown, source=DataSource.ERROR, error=error,
                                   ticker=shown)
            continue
        if partial and symbol not in results:
            continue
        result = results[symbol]
        out[key] = result if result.ticker == key else result.with_ticker(str(key))
    return out
