"""The reliability report: what one run (or several, summed) counted, as frozen, typed values.

A :class:`ReliabilityReport` is read live (``ResilientProvider.reliability_report()``) or from
the statistics store (:meth:`~.store.StatsStore.report`); both are made by the one builder,
:func:`~.builder.build_report`. Every reader in the library (alerts, exports, plots, the
``stats`` command) reads its attributes. :meth:`ReliabilityReport.to_dict` is the output
format: the JSON-ready dict ``get_reliability_stats()`` and ``stats --json`` give, key for key
as it has always been. A stored report (:attr:`ReliabilityReport.stored` set) adds ``runs``,
``run_ids``, ``ended_at`` and ``config_fingerprint``, lists a provider's ``success_rate`` after
its counts, a breaker as its ``state`` and ``trips`` only, and an alert's ``provider`` second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .histogram import percentile_of_buckets
from .sources import ANSWER_KINDS, NOT_FOUND, SourceCounts, answer_kind, percent
from .upstream_report import UpstreamReport

#: The dict form of a report (or of a part of one): an output format only.
JsonDict = dict[str, Any]

__all__ = ["ANSWER_KINDS", "NOT_FOUND", "Alert", "BreakerReport", "JsonDict",
           "LatencyPercentiles", "ProviderReport", "ReliabilityReport", "SourceCounts",
           "StoredRuns", "answer_kind", "percent", "percentile"]

def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil without floats drifting
    return sorted_values[int(rank) - 1]


@dataclass(frozen=True, slots=True)
class LatencyPercentiles:
    """A provider's call latency percentiles in ms; None when nothing was timed.

    Live reports give them exactly (nearest rank of the recent samples); stored ones as the
    upper bound of the histogram bucket they fall in (see :mod:`.histogram`).
    """

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None

    @classmethod
    def of_samples(cls, latencies_ms: Iterable[float]) -> LatencyPercentiles:
        """The exact percentiles of ``latencies_ms``."""
        ordered = sorted(latencies_ms)
        return cls(*(percentile(ordered, p) for p in (50, 95, 99)))

    @classmethod
    def of_buckets(cls, counts: Mapping[int, int]) -> LatencyPercentiles:
        """The percentiles of a histogram (bucket index to count)."""
        return cls(*(percentile_of_buckets(counts, p) for p in (50, 95, 99)))

    def to_dict(self) -> JsonDict:
        """``{"p50": …, "p95": …, "p99": …}``."""
        return {"p50": self.p50_ms, "p95": self.p95_ms, "p99": self.p99_ms}


@dataclass(frozen=True, slots=True)
class BreakerReport:
    """A provider's circuit breaker: its state and trips; a live report adds the rest.

    ``state`` is None in a report of several runs summed (they have no one state) or when the
    store never saw the breaker. ``failure_count``, ``retry_in_s`` and ``open_for_s`` (how long
    it has not been closed) are live figures: the store keeps the last state and the trips only.
    """

    state: str | None
    trips: int = 0
    failure_count: int | None = None
    retry_in_s: float | None = None
    open_for_s: float | None = None

    def to_dict(self, *, stored: bool = False) -> JsonDict:
        """The breaker's entry in a report (``state`` and ``trips`` only when ``stored``)."""
        if stored:
            return {"state": self.state, "trips": self.trips}
        return {"state": self.state, "failure_count": self.failure_count, "trips": self.trips,
                "retry_in_s": self.retry_in_s, "open_for_s": self.open_for_s}


@dataclass(frozen=True, slots=True)
class ProviderReport:
    """How one provider fared: symbol look-ups (``calls``), ``failures`` and ``skipped`` by
    error code, retries, latency and its breaker (None for a provider without one).

    ``not_found`` counts the look-ups it answered "no such symbol": among ``calls``, but not
    among ``failures`` (an unknown symbol says nothing about the provider's health)."""

    calls: int = 0
    successes: int = 0
    failures: Mapping[str, int] = field(default_factory=dict)
    not_found: int = 0
    skipped: Mapping[str, int] = field(default_factory=dict)
    retries: int = 0
    latency: LatencyPercentiles = LatencyPercentiles()
    breaker: BreakerReport | None = None

    @property
    def success_rate(self) -> float:
        """Percent of look-ups answered with data, of those not answered "not found" (0 when
        there were none: see :attr:`answered`)."""
        return percent(self.successes, self.calls - self.not_found)

    @property
    def answered(self) -> bool:
        """Whether any look-up other than a not-found was made (a success rate means
        something): a provider never called shows "-", not 0%."""
        return self.calls > self.not_found

    def to_dict(self, *, stored: bool = False) -> JsonDict:
        """The provider's entry under ``providers`` (a stored report lists ``success_rate``
        after the counts; a live one leaves ``breaker`` out when there is none)."""
        counts = {"failures": dict(self.failures), "not_found": self.not_found,
                  "skipped": dict(self.skipped), "retries": self.retries}
        view: JsonDict = {"calls": self.calls, "successes": self.successes}
        if stored:
            view |= {**counts, "success_rate": self.success_rate}
        else:
            view |= {"success_rate": self.success_rate, **counts}
        view["latency_ms"] = self.latency.to_dict()
        if self.breaker is not None:
            view["breaker"] = self.breaker.to_dict(stored=stored)
        return view


@dataclass(frozen=True, slots=True)
class Alert:
    """One condition that holds: what, about which provider, the figure and the threshold."""

    name: str
    message: str
    value: float
    threshold: float
    provider: str | None = None

    def to_dict(self, *, stored: bool = False) -> JsonDict:
        """The JSON-ready form listed under ``alerts`` in a report."""
        if stored:
            return {"name": self.name, "provider": self.provider, "message": self.message,
                    "value": self.value, "threshold": self.threshold}
        return {"name": self.name, "message": self.message, "value": self.value,
                "threshold": self.threshold, "provider": self.provider}


@dataclass(frozen=True, slots=True)
class StoredRuns:
    """What a report read from the statistics store adds: the runs it sums, and when they
    ended and with which configuration."""

    run_ids: tuple[str, ...] = ()
    ended_at: datetime | None = None  # None while any of the runs is going (or was killed)
    config_fingerprint: str = ""  # several runs: their distinct fingerprints, comma-joined

    @property
    def runs(self) -> int:
        """How many runs were summed."""
        return len(self.run_ids)


@dataclass(frozen=True, slots=True)
class ReliabilityReport:
    """The reliability statistics of a run (live) or of stored runs (one, or several summed).

    ``run_id`` is the run's id (``"N runs"`` for several summed); ``started_at`` its start (the
    first run's), UTC, to the millisecond; ``stored`` is None for a live report.
    ``not_found_cache_hits`` counts the requests the negative cache answered (symbols a provider
    had confirmed unknown; they are among the ``error`` requests too).
    """

    run_id: str
    started_at: datetime | None = None
    sources: SourceCounts = field(default_factory=SourceCounts)
    providers: Mapping[str, ProviderReport] = field(default_factory=dict)
    cache_errors: Mapping[str, int] = field(default_factory=dict)
    coalesced_requests: int = 0
    not_found_cache_hits: int = 0
    alerts: tuple[Alert, ...] = ()
    stored: StoredRuns | None = None
    upstreams: Mapping[str, UpstreamReport] = field(default_factory=dict)

    def with_alerts(self, alerts: Iterable[Alert]) -> ReliabilityReport:
        """This report listing ``alerts``."""
        return replace(self, alerts=tuple(alerts))

    def with_upstreams(self, upstreams: Mapping[str, UpstreamReport]) -> ReliabilityReport:
        """This report with the live figures of the upstream budgets."""
        return replace(self, upstreams=dict(upstreams))

    def served_via(self, upstream: UpstreamReport) -> int:
        """Symbols answered live by the providers that sent requests to ``upstream``."""
        return sum(view.successes for name, view in self.providers.items()
                   if name in upstream.requests_by_provider)

    def _repr_html_(self) -> str:
        """The report as HTML tables for notebooks: source mix, providers, alerts."""
        from ..html_repr import report_html

        return report_html(self)

    def to_dict(self) -> JsonDict:
        """The JSON-ready dict of ``get_reliability_stats()`` (or, stored, ``stats --json``)."""
        stored = self.stored is not None
        head: JsonDict = {"run_id": self.run_id}
        if self.stored is not None:
            head |= {"runs": self.stored.runs, "run_ids": list(self.stored.run_ids),
                     "started_at": _iso(self.started_at), "ended_at": _iso(self.stored.ended_at),
                     "config_fingerprint": self.stored.config_fingerprint}
        else:
            head["started_at"] = _iso(self.started_at)
        return {
            **head,
            **self.sources.to_dict(),
            "providers": {name: view.to_dict(stored=stored)
                          for name, view in self.providers.items()},
            "cache_errors": dict(self.cache_errors),
            "coalesced_requests": self.coalesced_requests,
            "not_found_cache_hits": self.not_found_cache_hits,
            "upstreams": {name: up.to_dict(served=self.served_via(up))
                          for name, up in self.upstreams.items()},
            "alerts": [alert.to_dict(stored=stored) for alert in self.alerts],
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment is not None else None
