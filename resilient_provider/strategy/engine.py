"""The engine: requests for one symbol or a whole batch, through the cascade.

What happens between the façade's public methods and the cascade lives here, once: the
read-through of fresh cache entries and the negative cache's answers for known unknowns
(:mod:`.known_unknowns`), both before any provider is asked, sharing walks in flight (a symbol
another request is fetching is waited for, not fetched again), how long such a wait may last,
and how a batch is cut into chunks and run.

With the ``offline`` setting every request is answered from the cache alone, before all of
that (:mod:`.offline`): no provider, no retries, no waits.

``refresh=True`` skips both up-front answers: the providers are asked, and the cache still
serves when they all fail. Refresh requests share walks only with each other, so one never
gets the up-front answer of a request that did not ask for a refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from ..cache.not_found import NotFoundCache
from ..config import Settings
from ..logs import correlation_scope, run_scope
from ..result import FetchResult
from ..stats import ReliabilityStats
from .batch import (
    CHUNKS_PER_SLOT,
    BatchInterrupted,
    BatchPlan,
    BatchTail,
    Progress,
    assemble,
    chunk_limit,
    run_chunks,
    split_evenly,
)
from .cascade import Cascade
from .chunk_feed import PacedChunks
from .coalesce import Coalescer
from .known_unknowns import KnownUnknowns
from .offline import OfflineAnswers

#: Chunks at once under an upstream budget: two keep the adapter's threads busy (one chunk's
#: v7 quote overlaps the other's quoteSummary requests); more would only queue in the gate.
_PACED_CHUNKS_AT_ONCE = 2

#: One step of the chain for distinct symbols: a whole walk, or a walk without read-through.
Step = Callable[[Sequence[str]], dict[str, FetchResult]]

#: Makes the fleet-wide walk from the cascade's ``walk`` and ``serve_fresh``.
FleetWalk = Callable[[Callable[..., dict[str, FetchResult]], Callable[..., dict[str, FetchResult]]],
                     Callable[..., dict[str, FetchResult]]]


class Engine:
    """Answers requests for distinct, normalised symbols through ``cascade``.

    With ``cache.read_through`` a fresh cache entry answers before any provider is asked, and
    with ``not_found`` (the negative cache) a symbol confirmed unknown does: for a single
    request inside its shared walk, for a batch in one read of the whole batch up front.
    ``coalescer`` (the façade's) lets concurrent requests for a symbol share one walk.
    """

    def __init__(self, cascade: Cascade, coalescer: Coalescer, settings: Settings, *,
                 stats: ReliabilityStats, not_found: NotFoundCache,
                 fleet_walk: FleetWalk | None = None) -> None:
        self._cascade = cascade
        # The walk of the chain: the cascade's, or (fleet mode) one claiming each symbol
        # fleet-wide first (resilient_provider.shared.single_flight).
        self._fleet_walk = fleet_walk(cascade.walk, cascade.serve_fresh) \
            if fleet_walk is not None else None
        self._coalescer = coalescer
        self._refreshing = Coalescer()  # refresh requests share walks only with each other
        self._stats = stats
        self._read_through_on = settings.cache.read_through
        self._known_unknowns = KnownUnknowns(
            not_found, cascade.cache, stats=stats,
            upstreams={p.name: p.upstream for p in cascade.providers})
        # A request sharing another's walk waits for it at most as long as that walk can take.
        self._join_wait_s = settings.deadline_s + max(
            (p.policy.timeout_s for p in cascade.providers), default=0.0) + 1.0
        self._batch_workers = CHUNKS_PER_SLOT * settings.max_concurrent_requests
        primary_rate = cascade.providers[0].policy.rate_limit_per_s if cascade.providers else 0.0
        self._chunk_size = chunk_limit(settings.batch_size, workers=self._batch_workers,
                                       rate_per_s=primary_rate, deadline_s=settings.deadline_s)
        self._deadline_s = settings.deadline_s
        self._offline = OfflineAnswers(cascade.cache, settings.cache, clock=cascade.clock,
                                       stats=stats) if settings.offline else None

    def fetch(self, symbols: Sequence[str], *, refresh: bool = False) -> dict[str, FetchResult]:
        """One answer for each of ``symbols`` (distinct, normalised): the up-front answers
        (none with ``refresh``), then the chain, in one walk shared with concurrent requests
        for the same symbols. Offline: from the cache alone, sharing no walk."""
        if self._offline is not None:
            with run_scope(self._stats.run_id), correlation_scope():
                return self._answer_offline(symbols)
        return self._shared(symbols, partial(self._answer, refresh=refresh), refresh=refresh)

    def batch(self, plan: BatchPlan, progress: Progress, *,
              refresh: bool = False) -> dict[Any, FetchResult]:
        """One answer per distinct item of ``plan``, in input order, reporting to
        ``progress``.

        The up-front answers are one read each for the whole batch, here (none with
        ``refresh``): a warm portfolio needs no threads, and the chunks then walk the chain
        without reading again. The negative cache learns from the whole batch's answers at the
        end. From the moment the last chunk starts, the chunks still running skip their retry
        backoffs (see :class:`~.batch.BatchTail`).
        """
        with run_scope(self._stats.run_id):
            if self._offline is not None:
                offline = self._answer_offline(plan.symbols)
                progress.advance(len(offline))
                return assemble(plan, offline)
            asked_at = self._cascade.clock()
            results, with_rows = self._up_front(plan.symbols, refresh=refresh)
            progress.advance(len(results))
            tail = BatchTail()
            walk = partial(self._walk(asked_at), skip_backoff=tail.reached, record=False)
            todo = [s for s in plan.symbols if s not in results]
            workers, chunks = self._chunking(todo)
            joined: dict[str, bool] = {}
            try:
                walked = run_chunks(chunks, partial(self._chunk, step=walk, refresh=refresh,
                                                    joined=joined),
                                    workers=workers, progress=progress, tail=tail)
            except BatchInterrupted as stop:  # Ctrl-C: what was answered, counted and kept
                self._record(stop.results, joined)
                results.update(stop.results)
                answered = assemble(plan, results, partial=True)
                raise BatchInterrupted(answered, [k for k in plan.keys if k not in answered]
                                       ) from stop.__cause__
            self._record(walked, joined)
            self._known_unknowns.learn(walked, with_rows=with_rows)
            results.update(walked)
        return assemble(plan, results)

    def _answer_offline(self, symbols: Sequence[str]) -> dict[str, FetchResult]:
        assert self._offline is not None
        return self._offline.answer(
            symbols, known_unknowns=lambda rest: self._known_unknowns.look_up(rest).answers)

    def _chunking(self, symbols: Sequence[str]) -> tuple[int, list[list[str]] | PacedChunks]:
        """Chunk threads for a batch of ``symbols``, and its chunks.

        Under the primary's upstream budget the chunks are cut one at a time to the pace the
        budget has learned by then (:class:`~.chunk_feed.PacedChunks`); otherwise they are cut
        up front, smaller under a provider's fixed ``rate_limit_per_s`` cap so their permits
        fit in the deadline.
        """
        primary = self._cascade.providers[0] if self._cascade.providers else None
        upstream = primary.upstream if primary is not None else None
        if upstream is None:
            return self._batch_workers, split_evenly(symbols, workers=self._batch_workers,
                                                     max_size=self._chunk_size)
        return _PACED_CHUNKS_AT_ONCE, PacedChunks(
            symbols, upstream, max_size=self._chunk_size, deadline_s=self._deadline_s,
            max_running=_PACED_CHUNKS_AT_ONCE)

    def _walk(self, asked_at: float) -> Callable[..., dict[str, FetchResult]]:
        """The walk of the chain for a request asked at ``asked_at`` (the clock's time): the
        cascade's, or in fleet mode one claiming each symbol fleet-wide first
        (:mod:`resilient_provider.shared.single_flight`), which serves what other workers
        fetched since then."""
        if self._fleet_walk is None:
            return self._cascade.walk
        return partial(self._fleet_walk, asked_at=asked_at)

    def _answer(self, symbols: Sequence[str], *, refresh: bool) -> dict[str, FetchResult]:
        """The up-front answers, then the chain for the symbols they did not answer."""
        asked_at = self._cascade.clock()
        answered, with_rows = self._up_front(symbols, refresh=refresh)
        rest = [s for s in symbols if s not in answered]
        if rest:
            walked = self._walk(asked_at)(rest)
            self._known_unknowns.learn(walked, with_rows=with_rows)
            answered.update(walked)
        return {symbol: answered[symbol] for symbol in symbols}

    def _up_front(self, symbols: Sequence[str], *,
                  refresh: bool) -> tuple[dict[str, FetchResult], frozenset[str]]:
        """Answers without a provider: fresh cache entries when ``cache.read_through`` is on,
        then known unknowns (neither with ``refresh``); and the symbols with negative-cache
        rows, whose rows go if a provider now finds them."""
        answered = self._cascade.serve_fresh(symbols) if self._read_through_on and not refresh \
            else {}
        known = self._known_unknowns.look_up([s for s in symbols if s not in answered],
                                             answer=not refresh)
        answered.update(known.answers)
        return answered, known.with_rows

    def _chunk(self, symbols: Sequence[str], *, step: Step, refresh: bool,
               joined: dict[str, bool]) -> dict[str, FetchResult]:
        """One chunk of a batch: ``step`` (a walk that counts no request) shared like
        :meth:`_shared`; ``joined`` notes, per symbol, whether its latest answer was another
        request's."""
        coalescer = self._refreshing if refresh else self._coalescer
        with run_scope(self._stats.run_id), correlation_scope():
            outcome = coalescer.run(symbols, step, wait_s=self._join_wait_s)
        for symbol in symbols:
            joined[symbol] = symbol in outcome.joined
        return outcome.results

    def _record(self, walked: dict[str, FetchResult], joined: dict[str, bool]) -> None:
        """Count a batch's final answers from the chain as requests, each once: a symbol put
        back in line and walked again is one request (see :class:`~.chunk_feed.PacedChunks`)."""
        self._stats.record_coalesced(r for s, r in walked.items() if joined.get(s))
        self._stats.record_answers(r for s, r in walked.items() if not joined.get(s))

    def _shared(self, symbols: Sequence[str], step: Step, *,
                refresh: bool = False) -> dict[str, FetchResult]:
        """``step`` for those of ``symbols`` no other request is fetching; the rest waited for."""
        coalescer = self._refreshing if refresh else self._coalescer
        with run_scope(self._stats.run_id), correlation_scope():
            outcome = coalescer.run(symbols, step, wait_s=self._join_wait_s)
        if outcome.joined:
            self._stats.record_coalesced(outcome.results[s] for s in outcome.joined)
        return outcome.results
