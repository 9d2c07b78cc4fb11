"""Reports as a pandas frame and as Prometheus metrics (text, live registry, HTTP endpoint)."""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import datetime

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from resilient_provider.errors import ProviderUnavailableError
from resilient_provider.result import DataSource, FetchResult
from resilient_provider.stats import ReliabilityReport, ReliabilityStats
from resilient_provider.stats.alerts import Alert
from resilient_provider.stats.export import (
    FRAME_COLUMNS,
    prometheus_registry,
    prometheus_text,
    serve_prometheus,
    stats_frame,
)
from resilient_provider.stats.report import (
    BreakerReport,
    LatencyPercentiles,
    ProviderReport,
    SourceCounts,
)
from resilient_provider.strategy.breaker import BreakerSnapshot
from resilient_provider.testing import FakeClock, ScriptedProvider
from tests.conftest import MakeFacade

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def report(clock: FakeClock) -> ReliabilityReport:
    """A live report with every kind of figure: two providers, failures, skips, alerts."""
    stats = ReliabilityStats(clock=clock)
    stats.record_request(DataSource.PRIMARY, 6)
    stats.record_request(DataSource.FALLBACK, 2)
    stats.record_request(DataSource.CACHE_STALE)
    stats.record_request(DataSource.ERROR)
    for latency_ms in (100.0, 200.0, 300.0, 400.0):
        stats.record_call("yf", latency_ms=latency_ms, successes=2, failures={"timeout": 1})
    stats.record_call("yf", latency_ms=900.0, successes=0, failures={"rate_limited": 2})
    stats.record_retry("yf")
    stats.record_retry("yf")
    stats.record_skip("yf", "circuit_open", 3)
    stats.record_call("yq", latency_ms=50.0, successes=2, failures={})
    stats.record_cache_error("set")
    stats.record_coalesced([FetchResult("AAPL", DataSource.PRIMARY, data={})])
    stats.record_not_found_hits(3)
    breakers = {"yf": BreakerSnapshot("open", 0, 2, 25.0, 5.0),
                "yq": BreakerSnapshot("closed", 0, 0, None)}
    return stats.snapshot(breakers).with_alerts([
        Alert("fallback_usage", "fallback answered 18%", 18.2, 10.0),
        Alert("breaker_open", "yf: open", 400.0, 300.0, provider="yf")])


def parsed(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_frame_has_a_row_per_provider_with_counts_latency_and_breaker(report: ReliabilityReport) -> None:
    frame = stats_frame(report)
    shown = report.to_dict()
    assert list(frame.index) == ["yf", "yq"] and frame.index.name == "provider"
    assert list(frame.columns[:len(FRAME_COLUMNS)]) == list(FRAME_COLUMNS)
    yf = frame.loc["yf"]
    assert (yf["calls"], yf["successes"], yf["failures"], yf["retries"], yf["skipped"]) == (14, 8, 6, 2, 3)
    assert yf["success_rate"] == shown["providers"]["yf"]["success_rate"] == 57.14
    assert (yf["p50_ms"], yf["p95_ms"], yf["p99_ms"]) == (300.0, 900.0, 900.0)
    assert (yf["breaker_state"], yf["trips"]) == ("open", 2)
    assert frame.loc["yq", "breaker_state"] == "closed" and frame.loc["yq", "success_rate"] == 100.0


def test_frame_has_a_column_per_error_code_zero_where_a_provider_had_none(report: ReliabilityReport) -> None:
    frame = stats_frame(report)
    assert list(frame.columns[len(FRAME_COLUMNS):]) == [
        "failures_rate_limited", "failures_timeout", "skipped_circuit_open"]
    assert frame.loc["yf", "failures_timeout"] == 4 and frame.loc["yf", "failures_rate_limited"] == 2
    assert frame.loc["yq", "failures_timeout"] == 0 and frame.loc["yq", "skipped_circuit_open"] == 0
    assert str(frame["failures_timeout"].dtype) == "int64" and str(frame["calls"].dtype) == "int64"


def test_frame_of_a_stored_report_tolerates_a_partial_breaker_and_no_latency() -> None:
    stored = ReliabilityReport("2 runs", providers={
        "yf": ProviderReport(calls=2, successes=2, failures={}, skipped={}, retries=0,
                             latency=LatencyPercentiles(None, None, None),
                             breaker=BreakerReport(state=None, trips=1)),
        "yq": ProviderReport(calls=0, successes=0)})
    frame = stats_frame(stored)
    assert math.isnan(frame["p50_ms"]["yf"]) and frame.loc["yf", "trips"] == 1
    assert frame.loc["yf", "breaker_state"] is None
    assert frame.loc["yq", "trips"] == 0 and frame.loc["yq", "retries"] == 0


def test_frame_of_a_report_without_providers_is_empty_with_the_columns() -> None:
    frame = stats_frame(ReliabilityReport("r1", sources=SourceCounts()))
    assert frame.empty and list(frame.columns) == list(FRAME_COLUMNS)


def test_prometheus_text_parses_back_to_the_report_figures(report: ReliabilityReport) -> None:
    got = parsed(prometheus_text(report))
    shown = report.to_dict()
    p = "resilient_provider_"
    for source, count in shown["counts"].items():
        assert got[f"{p}requests_total", (("source", source),)] == count
    assert got[f"{p}requests_total", (("source", "primary"),)] == 7  # 6 + 1 coalesced
    yf = shown["providers"]["yf"]
    assert got[f"{p}provider_calls_total", (("provider", "yf"),)] == yf["calls"] == 14
    assert got[f"{p}provider_successes_total", (("provider", "yf"),)] == yf["successes"]
    assert got[f"{p}provider_retries_total", (("provider", "yf"),)] == yf["retries"]
    for code, count in yf["failures"].items():
        assert got[f"{p}provider_failures_total", (("code", code), ("provider", "yf"))] == count
    assert got[f"{p}provider_skips_total", (("code", "circuit_open"), ("provider", "yf"))] == 3
    for key, quantile in (("p50", "0.5"), ("p95", "0.95"), ("p99", "0.99")):
        seconds = got[f"{p}provider_latency_seconds", (("provider", "yf"), ("quantile", quantile))]
        assert seconds == pytest.approx(yf["latency_ms"][key] / 1000)
    assert got[f"{p}breaker_trips_total", (("provider", "yf"),)] == 2
    assert got[f"{p}breaker_state", (("provider", "yf"), ("state", "open"))] == 1
    assert got[f"{p}breaker_state", (("provider", "yf"), ("state", "closed"))] == 0
    assert got[f"{p}breaker_state", (("provider", "yq"), ("state", "closed"))] == 1
    assert got[f"{p}cache_errors_total", (("operation", "set"),)] == 1
    assert got[f"{p}coalesced_requests_total", ()] == 1
    assert got[f"{p}not_found_cache_hits_total", ()] == 3
    assert got[f"{p}alerts_active", (("alert", "fallback_usage"), ("provider", ""))] == 1
    assert got[f"{p}alerts_active", (("alert", "breaker_open"), ("provider", "yf"))] == 1
    assert got[f"{p}run_start_time_seconds", ()] == datetime.fromisoformat(shown["started_at"]).timestamp()
    assert got[f"{p}run_info", (("config_fingerprint", ""), ("run_id", shown["run_id"]))] == 1


def test_prometheus_leaves_out_what_a_stored_report_lacks() -> None:
    stored = ReliabilityReport("2 runs", started_at=None, sources=SourceCounts(primary=1),
                               providers={"yf": ProviderReport(
                                   calls=1, successes=1, latency=LatencyPercentiles(p50_ms=None),
                                   breaker=BreakerReport(state=None, trips=3))})
    got = parsed(prometheus_text(stored))
    names = {name for name, _ in got}
    assert got["resilient_provider_breaker_trips_total", (("provider", "yf"),)] == 3
    assert "resilient_provider_breaker_state" not in names
    assert "resilient_provider_provider_latency_seconds" not in names
    assert "resilient_provider_run_start_time_seconds" not in names
    assert "resilient_provider_alerts_active" not in names


def test_the_registry_reads_a_fresh_report_on_every_scrape(report: ReliabilityReport) -> None:
    current = [report]
    registry = prometheus_registry(lambda: current[0])
    key = ("resilient_provider_requests_total", (("source", "error"),))
    assert parsed(generate_latest(registry).decode())[key] == 1
    current[0] = replace(report, sources=replace(report.sources, error=5))
    assert parsed(generate_latest(registry).decode())[key] == 5


def test_the_registry_follows_a_live_facade(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one", {"B": ProviderUnavailableError("down")}),
                         ScriptedProvider("two"))
    registry = prometheus_registry(facade.reliability_report)
    facade.fetch("A")
    first = parsed(generate_latest(registry).decode())
    facade.fetch("B")
    second = parsed(generate_latest(registry).decode())
    assert first["resilient_provider_requests_total", (("source", "primary"),)] == 1
    assert first["resilient_provider_requests_total", (("source", "fallback"),)] == 0
    assert second["resilient_provider_requests_total", (("source", "fallback"),)] == 1
    assert second["resilient_provider_provider_calls_total", (("provider", "two"),)] == 1


def test_serve_prometheus_answers_over_loopback_until_closed(report: ReliabilityReport) -> None:
    server = serve_prometheus(lambda: report, port=0)
    url = f"http://127.0.0.1:{server.port}/metrics"
    with server:
        assert server.port > 0
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode()
        assert parsed(body)["resilient_provider_provider_calls_total", (("provider", "yq"),)] == 2
    assert not server.thread.is_alive()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)
