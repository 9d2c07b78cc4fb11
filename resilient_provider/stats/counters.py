"""Reliability statistics: what each request was answered with, and how each provider fared.

One lock guards all counters, so figures stay consistent when many threads report at once; the
work done under it is a few integer increments. Latencies keep the most recent
``latency_window`` samples per provider, so memory stays bounded in long-running services, and
a count per histogram bucket (:mod:`.histogram`) for the statistics store.

:meth:`ReliabilityStats.totals` flattens every counter to ``{CounterKey: int}``: the form the
store adds up (see :mod:`.store`), and the one :meth:`ReliabilityStats.snapshot` builds the live
report from (see :mod:`.builder`), with the latency samples for exact percentiles.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import SymbolNotFoundError
from ..result import DataSource, FetchResult
from .builder import CounterKey, build_report
from .histogram import bucket_of
from .report import BreakerReport, ReliabilityReport
from .sources import answer_kind


class BreakerView(Protocol):
    """What statistics read of a circuit breaker."""

    @property
    def state(self) -> str: ...
    @property
    def failure_count(self) -> int: ...
    @property
    def trips(self) -> int: ...
    @property
    def retry_in_s(self) -> float | None: ...
    @property
    def open_for_s(self) -> float | None: ...


@dataclass
class _ProviderCounters:
    calls: int = 0
    successes: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    not_found: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    latencies_ms: deque[float] = field(default_factory=deque)
    latency_buckets: Counter[int] = field(default_factory=Counter)
    answered_buckets: Counter[int] = field(default_factory=Counter)  # calls with an answer


class ReliabilityStats:
    """Thread-safe counters for one façade run (reset with :meth:`reset`)."""

    def __init__(self, *, clock: Callable[[], float], latency_window: int = 10_000) -> None:
        self._clock = clock
        self._latency_window = latency_window
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter and start a new run id."""
        with self._lock:
            self.run_id = secrets.token_hex(6)
            self.started_at = self._clock()
            self._by_source: Counter[str] = Counter()  # by answer kind (see .sources)
            self._providers: dict[str, _ProviderCounters] = {}
            self._cache_errors: Counter[str] = Counter()
            self._coalesced = 0
            self._not_found_hits = 0

    def _provider(self, name: str) -> _ProviderCounters:
        counters = self._providers.get(name)
        if counters is None:
            counters = _ProviderCounters(latencies_ms=deque(maxlen=self._latency_window))
            self._providers[name] = counters
        return counters

    def record_request(self, source: DataSource, count: int = 1) -> None:
        """``count`` symbol requests were answered from ``source`` (an ``error`` here is a
        failure: a not-found answer is counted by :meth:`record_answers`)."""
        with self._lock:
            self._by_source[source.value] += count

    def record_answers(self, results: Iterable[FetchResult]) -> None:
        """Requests answered with ``results``, each counted by its kind: its source, or
        ``not_found`` for a symbol that is unknown (see :func:`~.sources.answer_kind`)."""
        kinds = Counter(answer_kind(result) for result in results)
        with self._lock:
            self._by_source.update(kinds)

    def record_coalesced(self, results: Iterable[FetchResult]) -> None:
        """Requests answered by sharing a concurrent request's result (counted by kind)."""
        kinds = Counter(answer_kind(result) for result in results)
        with self._lock:
            self._by_source.update(kinds)
            self._coalesced += kinds.total()

    def record_not_found_hits(self, count: int) -> None:
        """``count`` requests were answered by the negative cache (a symbol a provider had
        confirmed unknown), without asking a provider. Each is also counted as an ``error``
        ``not_found`` request by :meth:`record_answers`."""
        with self._lock:
            self._not_found_hits += count

    def record_call(self, provider: str, *, latency_ms: float, successes: int,
                    failures: Mapping[str, int]) -> None:
        """One call to ``provider``: symbols served, symbols failed by error code, its latency.

        ``calls`` counts symbol look-ups (a call for five symbols is five), so success rates
        mean the same for single and batched calls. A ``symbol_not_found`` among ``failures``
        is counted as ``not_found``, apart from the failures: it is no provider failing.
        """
        failed = Counter(failures)
        not_found = failed.pop(SymbolNotFoundError.code, 0)
        with self._lock:
            counters = self._provider(provider)
            counters.calls += successes + not_found + sum(failed.values())
            counters.successes += successes
            counters.not_found += not_found
            counters.failures.update(failed)
            counters.latencies_ms.append(latency_ms)
            counters.latency_buckets[bucket_of(latency_ms)] += 1
            if successes or not_found:  # the timeline's latency: no failed call in it
                counters.answered_buckets[bucket_of(latency_ms)] += 1

    def record_skip(self, provider: str, code: str, count: int = 1) -> None:
        """``count`` symbols skipped ``provider`` without calling it (circuit open, deadline)."""
        with self._lock:
            self._provider(provider).skipped[code] += count

    def record_retry(self, provider: str) -> None:
        """``provider`` is being tried again within one request."""
        with self._lock:
            self._provider(provider).retries += 1

    def record_cache_error(self, operation: str) -> None:
        """A cache ``operation`` (get, set, …) failed and was skipped."""
        with self._lock:
            self._cache_errors[operation] += 1

    def totals(self) -> dict[CounterKey, int]:
        """Every counter since the last :meth:`reset`, flattened (zeros left out)."""
        with self._lock:
            return self._totals_locked()

    def snapshot(self, breakers: Mapping[str, BreakerView]) -> ReliabilityReport:
        """The live report of these counters and the providers' ``breakers`` (without alerts:
        :class:`~.recorder.RunRecorder` adds them); latency percentiles are exact."""
        with self._lock:
            totals = self._totals_locked()
            samples = {name: tuple(c.latencies_ms) for name, c in self._providers.items()}
            run_id, started_at = self.run_id, self.started_at
        return build_report(
            totals, run_id=run_id, started_at=started_at, providers=[*breakers, *samples],
            breakers={name: BreakerReport(state=b.state, trips=b.trips,
                                          failure_count=b.failure_count,
                                          retry_in_s=b.retry_in_s, open_for_s=b.open_for_s)
                      for name, b in breakers.items()},
            latency_samples_ms=samples)

    def _totals_locked(self) -> dict[CounterKey, int]:
        flat: dict[CounterKey, int] = {}
        for kind, count in self._by_source.items():
            flat["source", "", "requests", kind] = count
        for name, c in self._providers.items():
            flat["provider", name, "calls", ""] = c.calls
            flat["provider", name, "successes", ""] = c.successes
            flat["provider", name, "retries", ""] = c.retries
            flat["provider", name, "not_found", ""] = c.not_found
            for code, count in c.failures.items():
                flat["provider", name, "failures", code] = count
            for code, count in c.skipped.items():
                flat["provider", name, "skipped", code] = count
            for bucket, count in c.latency_buckets.items():
                flat["provider", name, "latency_bucket", str(bucket)] = count
            for bucket, count in c.answered_buckets.items():
                flat["provider", name, "answered_latency_bucket", str(bucket)] = count
        for operation, count in self._cache_errors.items():
            flat["cache", "", "errors", operation] = count
        flat["coalesced", "", "requests", ""] = self._coalesced
        flat["not_found_cache", "", "hits", ""] = self._not_found_hits
        return {key: value for key, value in flat.items() if value}
