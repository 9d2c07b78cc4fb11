"""The one way a report is made: flat counters in, a :class:`~.report.ReliabilityReport` out.

Live and stored reports differ only in their inputs. Both start from the flat counters
(:data:`CounterKey` to a count): a live report from :meth:`~.counters.ReliabilityStats.totals`
(the same figures a flush writes to the store), a stored one from the store's sums of them. A
live report adds the breakers' snapshots and the raw latency samples (exact percentiles); a
stored one the breakers' last states and trips, the alerts kept, and :func:`stored_report`'s
header (runs, end, configuration), with percentiles from the summed latency histograms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import SymbolNotFoundError
from .report import (
    Alert,
    BreakerReport,
    LatencyPercentiles,
    ProviderReport,
    ReliabilityReport,
    SourceCounts,
    StoredRuns,
)
from .upstream_report import UpstreamReport

#: A provider's answer "no such symbol": counted as ``not_found``, never as a failure.
_NOT_FOUND_CODE = SymbolNotFoundError.code

#: ``(scope, name, metric, label)``: one counter, e.g. ``("provider", "yfinance", "failures",
#: "timeout")`` or ``("source", "", "requests", "primary")``.
CounterKey = tuple[str, str, str, str]


def build_report(totals: Mapping[CounterKey, int], *, run_id: str, started_at: float | None,
                 providers: Iterable[str] = (), breakers: Mapping[str, BreakerReport],
                 latency_samples_ms: Mapping[str, Iterable[float]] | None = None,
                 alerts: Iterable[Alert] = (), stored: StoredRuns | None = None,
                 ) -> ReliabilityReport:
    """A report of the counters ``totals``.

    Args:
        totals: the flat counters (``provider … trips`` is read from ``breakers`` instead).
        run_id: the run's id, or the label of several runs summed.
        started_at: when the (first) run started, epoch seconds; None when unknown.
        providers: the order providers are listed in; a provider with counters that is not
            named follows, in the order ``totals`` first mentions it.
        breakers: each provider's breaker; a provider not in it has none.
        latency_samples_ms: each provider's latency samples, for exact percentiles (live);
            None to read them from the ``latency_bucket`` counters (stored).
        alerts: the alerts that hold (live) or were raised (stored).
        stored: the header of a stored report; None for a live one.
    """
    by_source: dict[str, int] = {}
    cache_errors: dict[str, int] = {}
    coalesced = not_found_hits = 0
    counted: dict[str, _ProviderTotals] = {}
    upstream_counts: dict[str, dict[tuple[str, str], int]] = {}
    for (scope, name, metric, label), value in totals.items():
        if scope == "source":
            by_source[label] = value
        elif scope == "cache":
            cache_errors[label] = value
        elif scope == "coalesced":
            coalesced = value
        elif scope == "not_found_cache":
            not_found_hits = value
        elif scope == "provider":
            counted.setdefault(name, _ProviderTotals()).add(metric, label, value)
        elif scope == "upstream":
            upstream_counts.setdefault(name, {})[metric, label] = value
    shown: dict[str, ProviderReport] = {}
    for name in dict.fromkeys([*providers, *breakers, *counted]):
        figures = counted.get(name, _ProviderTotals())
        latency = (LatencyPercentiles.of_buckets(figures.latency_buckets)
                   if latency_samples_ms is None
                   else LatencyPercentiles.of_samples(latency_samples_ms.get(name, ())))
        shown[name] = ProviderReport(
            calls=figures.calls, successes=figures.successes, failures=figures.failures,
            not_found=figures.not_found,
            skipped=figures.skipped, retries=figures.retries, latency=latency,
            breaker=breakers.get(name))
    return ReliabilityReport(
        run_id=run_id, started_at=_moment(started_at), sources=SourceCounts.of(by_source),
        providers=shown, cache_errors=cache_errors, coalesced_requests=coalesced,
        not_found_cache_hits=not_found_hits, alerts=tuple(alerts), stored=stored,
        upstreams={name: UpstreamReport.of_counters(name, counts)
                   for name, counts in upstream_counts.items()})


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A run as the store keeps it: id, start and end (epoch seconds; end None while it goes
    on or after a kill), configuration fingerprint, and its provider chain, primary first."""

    run_id: str
    started_at: float
    ended_at: float | None
    config_fingerprint: str
    providers: tuple[str, ...] = ()


def stored_report(runs: Sequence[StoredRun], totals: Mapping[CounterKey, int],
                  breaker_states: Mapping[str, str],
                  alerts: Iterable[Alert]) -> ReliabilityReport:
    """The report of ``runs`` from their summed counters ``totals``, the breakers' last
    ``breaker_states`` (one run only: several runs have no one state) and their ``alerts``.

    Providers are listed in the runs' chain order (primary first, the oldest run's first),
    then the others by name. Every provider has a breaker entry: its state (None when not
    known) and its trips.
    """
    order = _chain_order(runs)
    names = {name for (scope, name, _, _) in totals if scope == "provider"} | set(breaker_states)
    listed = sorted(names, key=lambda name: (order.get(name, len(order)), name))
    breakers = {name: BreakerReport(breaker_states.get(name),
                                    totals.get(("provider", name, "trips", ""), 0))
                for name in listed}
    single = runs[0] if len(runs) == 1 else None
    ended = [run.ended_at for run in runs]
    header = StoredRuns(
        run_ids=tuple(sorted(run.run_id for run in runs)),
        ended_at=_moment(max(e for e in ended if e is not None)
                         if ended and all(e is not None for e in ended) else None),
        config_fingerprint=(single.config_fingerprint if single else
                            ",".join(sorted({run.config_fingerprint for run in runs}))))
    return build_report(
        totals, run_id=single.run_id if single else f"{len(runs)} runs",
        started_at=min((run.started_at for run in runs), default=None), providers=listed,
        breakers=breakers, alerts=alerts, stored=header)


@dataclass
class _ProviderTotals:
    """One provider's counters, gathered from the flat ones."""

    calls: int = 0
    successes: int = 0
    retries: int = 0
    not_found: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    latency_buckets: dict[int, int] = field(default_factory=dict)

    def add(self, metric: str, label: str, value: int) -> None:
        if metric == "calls":
            self.calls = value
        elif metric == "successes":
            self.successes = value
        elif metric == "retries":
            self.retries = value
        elif metric == "not_found" or (metric, label) == ("failures", _NOT_FOUND_CODE):
            self.not_found += value  # stores written before not-found was counted apart
        elif metric == "failures":
            self.failures[label] = value
        elif metric == "skipped":
            self.skipped[label] = value
        elif metric == "latency_bucket":
            self.latency_buckets[int(label)] = value


def _chain_order(runs: Sequence[StoredRun]) -> dict[str, int]:
    """Each provider's place: the chain order of the runs, primary first, oldest run first."""
    order: dict[str, int] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        for name in run.providers:
            order.setdefault(name, len(order))
    return order


def _moment(epoch_s: float | None) -> datetime | None:
    """``epoch_s`` in UTC, to the millisecond (a report's resolution, as its dict shows)."""
    if epoch_s is None:
        return None
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
