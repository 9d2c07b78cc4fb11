"""Reliability statistics: what each request was answered with, and how each provider fared.

One lock guards all counters, so figures stay consistent when many threads report at once; the
work done under it is a few integer increments. Latencies keep the most recent
``latency_window`` samples per provider, so memory stays bounded in long-running services, and
a count per histogram bucket (:mod:`.histogram`) for the statistics store.

:meth:`ReliabilityStats.totals` flattens every counter to ``{CounterKey: int}``: the form the
store adds up (see :mod:`.store`).
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..result import DataSource, iso_utc
from .histogram import bucket_of

#: ``(scope, name, metric, label)``: one counter, e.g. ``("provider", "yfinance", "failures",
#: "timeout")`` or ``("source", "", "requests", "primary")``.
CounterKey = tuple[str, str, str, str]


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
    skipped: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    latencies_ms: deque[float] = field(default_factory=deque)
    latency_buckets: Counter[int] = field(default_factory=Counter)


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil without floats drifting
    return sorted_values[int(rank) - 1]


def percent(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, to 2 decimals (0 when ``whole`` is 0)."""
    return round(100.0 * part / whole, 2) if whole else 0.0


def source_rates(by_source: Mapping[str, int]) -> dict[str, Any]:
    """``total_requests``, ``counts`` per source and the rates (percent of requests) of a
    report, from request counts by source name (``"primary"``, …)."""
    total = sum(by_source.values())
    count = {s.value: by_source.get(s.value, 0) for s in DataSource}
    live = count["primary"] + count["fallback"]
    return {
        "total_requests": total,
        "counts": count,
        "primary_success_rate": percent(count["primary"], total),
        "fallback_usage_rate": percent(count["fallback"], total),
        "fresh_cache_usage_rate": percent(count["cache_fresh"], total),
        "stale_cache_usage_rate": percent(count["cache_stale"], total),
        "total_success_rate": percent(live, total),
        "error_rate": percent(count["error"], total),
        "uptime_estimate": percent(total - count["error"], total),
    }


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
            self._by_source: Counter[DataSource] = Counter()
            self._providers: dict[str, _ProviderCounters] = {}
            self._cache_errors: Counter[str] = Counter()
            self._coalesced = 0

    def _provider(self, name: str) -> _ProviderCounters:
        counters = self._providers.get(name)
        if counters is None:
            counters = _ProviderCounters(latencies_ms=deque(maxlen=self._latency_window))
            self._providers[name] = counters
        return counters

    def record_request(self, source: DataSource, count: int = 1) -> None:
        """``count`` symbol requests were answered from ``source``."""
        with self._lock:
            self._by_source[source] += count

    def record_coalesced(self, sources: Iterable[DataSource]) -> None:
        """Requests answered by sharing a concurrent request's result (one source each)."""
        with self._lock:
            for source in sources:
                self._by_source[source] += 1
                self._coalesced += 1

    def record_call(self, provider: str, *, latency_ms: float, successes: int,
                    failures: Mapping[str, int]) -> None:
        """One call to ``provider``: symbols served, symbols failed by error code, its latency.

        ``calls`` counts symbol look-ups (a call for five symbols is five), so success rates
        mean the same for single and batched calls.
        """
        with self._lock:
            counters = self._provider(provider)
            counters.calls += successes + sum(failures.values())
            counters.successes += successes
            counters.failures.update(failures)
            counters.latencies_ms.append(latency_ms)
            counters.latency_buckets[bucket_of(latency_ms)] += 1

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
            flat: dict[CounterKey, int] = {}
            for source, count in self._by_source.items():
                flat["source", "", "requests", source.value] = count
            for name, c in self._providers.items():
                flat["provider", name, "calls", ""] = c.calls
                flat["provider", name, "successes", ""] = c.successes
                flat["provider", name, "retries", ""] = c.retries
                for code, count in c.failures.items():
                    flat["provider", name, "failures", code] = count
                for code, count in c.skipped.items():
                    flat["provider", name, "skipped", code] = count
                for bucket, count in c.latency_buckets.items():
                    flat["provider", name, "latency_bucket", str(bucket)] = count
            for operation, count in self._cache_errors.items():
                flat["cache", "", "errors", operation] = count
            flat["coalesced", "", "requests", ""] = self._coalesced
            return {key: value for key, value in flat.items() if value}

    def snapshot(self, breakers: Mapping[str, BreakerView]) -> dict[str, Any]:
        """The statistics as a JSON-ready dict; rates are percentages of requests."""
        with self._lock:
            by_source = {source.value: count for source, count in self._by_source.items()}
            providers = {
                name: self._provider_view(self._providers.get(name), breakers.get(name))
                for name in dict.fromkeys([*breakers, *self._providers])
            }
            return {
                "run_id": self.run_id,
                "started_at": iso_utc(self.started_at),
                **source_rates(by_source),
                "providers": providers,
                "cache_errors": dict(self._cache_errors),
                "coalesced_requests": self._coalesced,
            }

    @staticmethod
    def _provider_view(counters: _ProviderCounters | None,
                       breaker: BreakerView | None) -> dict[str, Any]:
        counters = counters or _ProviderCounters()
        latencies = sorted(counters.latencies_ms)
        view: dict[str, Any] = {
            "calls": counters.calls,
            "successes": counters.successes,
            "success_rate": percent(counters.successes, counters.calls),
            "failures": dict(counters.failures),
            "skipped": dict(counters.skipped),
            "retries": counters.retries,
            "latency_ms": {f"p{p}": percentile(latencies, p) for p in (50, 95, 99)},
        }
        if breaker is not None:
            view["breaker"] = {
                "state": breaker.state,
                "failure_count": breaker.failure_count,
                "trips": breaker.trips,
                "retry_in_s": breaker.retry_in_s,
                "open_for_s": breaker.open_for_s,
            }
        return view
