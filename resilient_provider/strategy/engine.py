"""The engine: requests for one symbol or a whole batch, through the cascade.

What happens between the façade's public methods and the cascade lives here, once: the
read-through of fresh cache entries, sharing walks in flight (a symbol another request is
fetching is waited for, not fetched again), how long such a wait may last, and how a batch is
cut into chunks and run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from ..config import Settings
from ..logs import correlation_scope, run_scope
from ..result import FetchResult
from ..stats import ReliabilityStats
from .batch import (
    CHUNKS_PER_SLOT,
    BatchPlan,
    BatchTail,
    Progress,
    assemble,
    chunk_limit,
    run_chunks,
    split_evenly,
)
from .cascade import Cascade
from .coalesce import Coalescer

#: Requests per symbol assumed before an upstream has counted its own (yfinance's ``.info``).
REQUESTS_PER_SYMBOL_GUESS = 3.0

#: One step of the chain for distinct symbols: a whole walk, or a walk without read-through.
Step = Callable[[Sequence[str]], dict[str, FetchResult]]


class Engine:
    """Answers requests for distinct, normalised symbols through ``cascade``.

    With ``cache.read_through`` a fresh cache entry answers before any provider is asked: for
    a single request inside its shared walk, for a batch in one read of the whole batch up
    front. ``coalescer`` (the façade's) lets concurrent requests for a symbol share one walk.
    """

    def __init__(self, cascade: Cascade, coalescer: Coalescer, settings: Settings, *,
                 stats: ReliabilityStats) -> None:
        self._cascade = cascade
        self._coalescer = coalescer
        self._stats = stats
        self._read_through_on = settings.cache.read_through
        # A request sharing another's walk waits for it at most as long as that walk can take.
        self._join_wait_s = settings.deadline_s + max(
            (p.policy.timeout_s for p in cascade.providers), default=0.0) + 1.0
        self._batch_workers = CHUNKS_PER_SLOT * settings.max_concurrent_requests
        primary_rate = cascade.providers[0].policy.rate_limit_per_s if cascade.providers else 0.0
        self._chunk_size = chunk_limit(settings.batch_size, workers=self._batch_workers,
                                       rate_per_s=primary_rate, deadline_s=settings.deadline_s)
        self._batch_size, self._deadline_s = settings.batch_size, settings.deadline_s

    def fetch(self, symbols: Sequence[str]) -> dict[str, FetchResult]:
        """One answer for each of ``symbols`` (distinct, normalised): read-through, then the
        chain, in one walk shared with concurrent requests for the same symbols."""
        return self._shared(symbols, self._answer)

    def batch(self, plan: BatchPlan, progress: Progress) -> dict[Any, FetchResult]:
        """One answer per distinct item of ``plan``, in input order, reporting to
        ``progress``.

        The read-through is one cache read for the whole batch, here: a warm portfolio needs no
        threads, and the chunks then walk the chain without reading again. From the moment the
        last chunk starts, the chunks still running skip their retry backoffs (see
        :class:`~.batch.BatchTail`).
        """
        with run_scope(self._stats.run_id):
            results = self._read_through(plan.symbols)
            progress.advance(len(results))
            tail = BatchTail()
            walk = partial(self._cascade.walk, skip_backoff=tail.reached)
            todo = [s for s in plan.symbols if s not in results]
            workers, size = self._chunking()
            chunks = split_evenly(todo, workers=workers, max_size=size)
            results.update(run_chunks(chunks, partial(self._shared, step=walk),
                                      workers=workers, progress=progress, tail=tail))
        return assemble(plan, results)

    def _chunking(self) -> tuple[int, int]:
        """Chunk threads and symbols per chunk for a batch now.

        Under the primary's upstream budget, no more chunks run than requests may be in flight
        (more would only queue in its gate), each small enough that its requests, at its share
        of the rate, fit in half the deadline: otherwise chunks would time out in the queue.
        """
        primary = self._cascade.providers[0] if self._cascade.providers else None
        upstream = primary.upstream if primary is not None else None
        if upstream is None:
            return self._batch_workers, self._chunk_size
        workers = min(self._batch_workers, upstream.settings.max_in_flight)
        symbols_per_s = upstream.rate_per_s / upstream.requests_per_symbol(
            default=REQUESTS_PER_SYMBOL_GUESS)
        return workers, min(self._chunk_size, chunk_limit(
            self._batch_size, workers=workers, rate_per_s=symbols_per_s,
            deadline_s=self._deadline_s))

    def _answer(self, symbols: Sequence[str]) -> dict[str, FetchResult]:
        """The read-through, then the chain for the symbols it did not answer."""
        answered = self._read_through(symbols)
        rest = [s for s in symbols if s not in answered]
        if rest:
            answered.update(self._cascade.walk(rest))
        return {symbol: answered[symbol] for symbol in symbols}

    def _read_through(self, symbols: Sequence[str]) -> dict[str, FetchResult]:
        """Fresh cache answers for ``symbols`` when ``cache.read_through`` is on, else none."""
        return self._cascade.serve_fresh(symbols) if self._read_through_on else {}

    def _shared(self, symbols: Sequence[str], step: Step) -> dict[str, FetchResult]:
        """``step`` for those of ``symbols`` no other request is fetching; the rest waited for."""
        with run_scope(self._stats.run_id), correlation_scope():
            outcome = self._coalescer.run(symbols, step, wait_s=self._join_wait_s)
        if outcome.joined:
            self._stats.record_coalesced(outcome.results[s].source for s in outcome.joined)
        return outcome.results
