"""Reports for other tools: a pandas frame per provider, and Prometheus metrics.

Every function here reads a :class:`~.report.ReliabilityReport`, live
(``ResilientProvider.reliability_report()``) or read from the statistics store (whose breakers
hold the last ``state`` and the ``trips`` only). What a report lacks (a breaker, alerts, a
percentile that is None because nothing was timed) is left out of the output, never guessed.

Prometheus metrics follow its conventions: counters end in ``_total``, latencies are in
seconds (the report's milliseconds / 1000), a breaker's state is one 0/1 gauge per state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from .report import LatencyPercentiles, ProviderReport, ReliabilityReport
from .upstream_report import UpstreamReport

if TYPE_CHECKING:
    import threading
    from wsgiref.simple_server import WSGIServer

    import pandas as pd

#: The report one scrape reads: ``ResilientProvider.reliability_report`` in a service.
ReportSource = Callable[[], ReliabilityReport]

#: Prefix of every metric name.
PREFIX = "resilient_provider_"

#: A breaker's possible states: each gets a 0/1 ``breaker_state`` series.
BREAKER_STATES = ("closed", "open", "half_open")

#: The leading columns of :func:`stats_frame`, in order.
FRAME_COLUMNS = ("calls", "successes", "success_rate", "failures", "not_found", "retries",
                 "skipped",
                 "p50_ms", "p95_ms", "p99_ms", "breaker_state", "trips")


def _quantiles(latency: LatencyPercentiles) -> tuple[tuple[str, str, float | None], ...]:
    """``(column prefix, Prometheus quantile, ms)`` of each percentile."""
    return (("p50", "0.5", latency.p50_ms), ("p95", "0.95", latency.p95_ms),
            ("p99", "0.99", latency.p99_ms))


def stats_frame(report: ReliabilityReport) -> pd.DataFrame:
    """One row per provider, indexed by provider name (index name ``provider``).

    Columns: :data:`FRAME_COLUMNS` (``failures`` and ``skipped`` are totals over every error
    code; ``not_found`` the look-ups answered "no such symbol", which are no failure;
    latencies in ms, NaN when nothing was timed; ``breaker_state`` None and ``trips`` 0 when
    the report has no breaker), then one integer column per error code seen,
    ``failures_<code>`` and then ``skipped_<code>``, each sorted by code and 0 where a
    provider had none, so ``frame.filter(like="failures_")`` is the error breakdown.
    """
    import pandas as pd  # imported here: pandas takes a second to import

    providers = report.providers
    failure_codes = sorted({c for view in providers.values() for c in view.failures})
    skip_codes = sorted({c for view in providers.values() for c in view.skipped})
    records = []
    for view in providers.values():
        breaker = view.breaker
        record: dict[str, Any] = {
            "calls": view.calls, "successes": view.successes,
            "success_rate": float(view.success_rate),
            "failures": sum(view.failures.values()), "not_found": view.not_found,
            "retries": view.retries,
            "skipped": sum(view.skipped.values()),
            **{f"{p}_ms": _float_or_nan(ms) for p, _, ms in _quantiles(view.latency)},
            "breaker_state": breaker.state if breaker is not None else None,
            "trips": breaker.trips if breaker is not None else 0,
        }
        record.update({f"failures_{code}": view.failures.get(code, 0) for code in failure_codes})
        record.update({f"skipped_{code}": view.skipped.get(code, 0) for code in skip_codes})
        records.append(record)
    columns = [*FRAME_COLUMNS, *(f"failures_{c}" for c in failure_codes),
               *(f"skipped_{c}" for c in skip_codes)]
    frame = pd.DataFrame.from_records(records, columns=columns,
                                      index=pd.Index(list(providers), name="provider"))
    counts = [c for c in columns if c not in ("success_rate", "p50_ms", "p95_ms", "p99_ms",
                                               "breaker_state")]
    return frame.astype({c: "int64" for c in counts}
                        | {c: "float64" for c in ("success_rate", "p50_ms", "p95_ms", "p99_ms")})


def _float_or_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


class ReportCollector:
    """A Prometheus collector that reads a fresh report from ``source`` on every scrape."""

    def __init__(self, source: ReportSource) -> None:
        self._source = source

    def describe(self) -> list[Metric]:
        """The metric families this collector yields (without samples), for the registry's
        duplicate-name check; the report source is not called."""
        return list(report_metrics(None))

    def collect(self) -> Iterator[Metric]:
        """The metrics of the report the source gives now."""
        return report_metrics(self._source())


def report_metrics(report: ReliabilityReport | None) -> Iterator[Metric]:
    """The Prometheus metric families of ``report`` (without samples for None); every family
    even when it has no samples."""
    yield from _run_metrics(report)
    yield from _provider_metrics(report.providers if report is not None else {})
    yield from _upstream_metrics(report.upstreams if report is not None else {})
    cache_errors = CounterMetricFamily(f"{PREFIX}cache_errors", "Cache operations that failed "
                                       "and were skipped, by operation.", labels=["operation"])
    for operation, count in sorted(report.cache_errors.items() if report is not None else ()):
        cache_errors.add_metric([operation], count)
    yield cache_errors
    yield CounterMetricFamily(f"{PREFIX}coalesced_requests", "Requests answered by sharing a "
                              "concurrent request's walk of the chain.",
                              value=report.coalesced_requests if report is not None else 0)
    yield CounterMetricFamily(f"{PREFIX}not_found_cache_hits", "Requests the negative cache "
                              "answered (a symbol confirmed unknown), without a provider call.",
                              value=report.not_found_cache_hits if report is not None else 0)
    alerts = GaugeMetricFamily(f"{PREFIX}alerts_active", "1 for each alert whose threshold is "
                               "passed (provider is empty for run-wide alerts).",
                               labels=["alert", "provider"])
    for alert in report.alerts if report is not None else ():
        alerts.add_metric([alert.name, alert.provider or ""], 1)
    yield alerts


def _run_metrics(report: ReliabilityReport | None) -> Iterator[Metric]:
    start = GaugeMetricFamily(f"{PREFIX}run_start_time_seconds",
                              "When the run (the first of the runs summed) started, epoch "
                              "seconds.")
    if report is not None and report.started_at is not None:
        start.add_metric([], report.started_at.timestamp())
    yield start
    info = GaugeMetricFamily(f"{PREFIX}run_info", "1, labelled with the run's id (or how many "
                             "runs were summed) and configuration fingerprint.",
                             labels=["run_id", "config_fingerprint"])
    if report is not None:
        fingerprint = report.stored.config_fingerprint if report.stored is not None else ""
        info.add_metric([report.run_id, fingerprint], 1)
    yield info
    requests = CounterMetricFamily(f"{PREFIX}requests", "Symbol requests by the source that "
                                   "answered them (primary, fallback, cache_fresh, cache_stale, "
                                   "error), or not_found: the symbol is unknown.",
                                   labels=["source"])
    for source, count in report.sources.items() if report is not None else ():
        requests.add_metric([source], count)
    yield requests


def _provider_metrics(providers: Mapping[str, ProviderReport]) -> Iterator[Metric]:
    def counter(name: str, doc: str, *labels: str) -> CounterMetricFamily:
        return CounterMetricFamily(f"{PREFIX}{name}", doc, labels=["provider", *labels])

    def gauge(name: str, doc: str, *labels: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"{PREFIX}{name}", doc, labels=["provider", *labels])

    calls = counter("provider_calls", "Symbol look-ups sent to a provider.")
    successes = counter("provider_successes", "Symbol look-ups a provider answered with data.")
    failures = counter("provider_failures", "Symbol look-ups a provider failed, by error code.",
                       "code")
    not_found = counter("provider_not_found", "Symbol look-ups a provider answered \"no such "
                        "symbol\" (not failures).")
    retries = counter("provider_retries", "Times a provider was tried again within one request.")
    skips = counter("provider_skips", "Symbols that skipped a provider without calling it, by "
                    "reason (circuit_open, deadline_exceeded).", "code")
    latency = gauge("provider_latency_seconds", "Latency percentiles of a provider's calls.",
                    "quantile")
    trips = counter("breaker_trips", "Times a provider's circuit breaker opened.")
    state = gauge("breaker_state",
                  "1 for a breaker's current (or last seen) state, 0 for the others.", "state")
    for name, view in providers.items():
        calls.add_metric([name], view.calls)
        successes.add_metric([name], view.successes)
        for code, count in sorted(view.failures.items()):
            failures.add_metric([name, code], count)
        not_found.add_metric([name], view.not_found)
        retries.add_metric([name], view.retries)
        for code, count in sorted(view.skipped.items()):
            skips.add_metric([name, code], count)
        for _, quantile, ms in _quantiles(view.latency):
            if ms is not None:
                latency.add_metric([name, quantile], ms / 1000)
        breaker = view.breaker
        if breaker is not None:
            trips.add_metric([name], breaker.trips)
            if breaker.state is not None:
                for known in BREAKER_STATES:
                    state.add_metric([name, known], 1 if breaker.state == known else 0)
    yield from (calls, successes, failures, not_found, retries, skips, latency, trips, state)


def _upstream_metrics(upstreams: Mapping[str, UpstreamReport]) -> Iterator[Metric]:
    requests = CounterMetricFamily(f"{PREFIX}upstream_requests", "HTTP requests sent to an "
                                   "upstream (the host providers talk to), by route.",
                                   labels=["upstream", "route"])
    throttled = CounterMetricFamily(f"{PREFIX}upstream_rate_limited", "Requests an upstream "
                                    "answered HTTP 429.", labels=["upstream"])
    cooling = CounterMetricFamily(f"{PREFIX}upstream_cooling_seconds", "Seconds an upstream "
                                  "was paused after 429s.", labels=["upstream"])
    rate = GaugeMetricFamily(f"{PREFIX}upstream_rate_per_second", "The pacing rate of an "
                             "upstream's request budget now (live reports only).",
                             labels=["upstream"])
    for name, upstream in upstreams.items():
        for route, count in sorted(upstream.requests_by_route.items()):
            requests.add_metric([name, route], count)
        throttled.add_metric([name], upstream.rate_limited)
        cooling.add_metric([name], upstream.cooling_s)
        if upstream.rate_per_s is not None:
            rate.add_metric([name], upstream.rate_per_s)
    yield from (requests, throttled, cooling, rate)


def prometheus_registry(report_source: ReportSource) -> CollectorRegistry:
    """A registry whose one collector reads ``report_source()`` on every scrape.

    For long-running services: pass ``provider.reliability_report`` and expose the registry
    with prometheus_client's own servers or :func:`serve_prometheus`.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReportCollector(report_source))
    return registry


def prometheus_text(report: ReliabilityReport) -> str:
    """``report`` in Prometheus' text exposition format."""
    return generate_latest(prometheus_registry(lambda: report)).decode("utf-8")


@dataclass(frozen=True)
class MetricsServer:
    """A running ``/metrics`` endpoint: :meth:`close` (or ``with``) stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen when started on port 0)."""
        return int(self.server.server_port)

    def close(self) -> None:
        """Stop serving, close the socket and wait for the serving thread; idempotent."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_prometheus(report_source: ReportSource, port: int,
                     addr: str = "127.0.0.1") -> MetricsServer:
    """Serve ``report_source``'s metrics over HTTP at ``addr:port`` on a daemon thread.

    ``port`` 0 picks a free port (read it from :attr:`MetricsServer.port`). The default address
    is loopback only; pass ``"0.0.0.0"`` to let a Prometheus server on another host scrape it.
    """
    server, thread = start_http_server(port, addr=addr,
                                       registry=prometheus_registry(report_source))
    return MetricsServer(server, thread)
