"""Not-found answers are reported apart from provider failures: in the report, the store, the
frame, Prometheus, the `stats` table and the plot's timeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from resilient_provider.cli import main
from resilient_provider.errors import NetworkError, SymbolNotFoundError
from resilient_provider.stats import ReliabilityStats
from resilient_provider.stats.export import prometheus_text, stats_frame
from resilient_provider.stats.histogram import bucket_of
from resilient_provider.stats.recorder import _samples
from resilient_provider.stats.store import Flush, RunInfo, StatsStore
from resilient_provider.testing import FakeClock, ScriptedProvider
from tests.conftest import MakeFacade

UNKNOWN = SymbolNotFoundError("no such symbol")
ONE_ATTEMPT = {"retry": {"max_attempts": 1}}


def test_a_providers_not_found_answers_are_not_among_its_failures(clock: FakeClock) -> None:
    stats = ReliabilityStats(clock=clock)
    stats.record_call("yf", latency_ms=80.0, successes=1,
                      failures={"symbol_not_found": 2, "timeout": 1})
    view = stats.snapshot({}).providers["yf"]
    assert (view.calls, view.successes, view.not_found) == (4, 1, 2)
    assert view.failures == {"timeout": 1}
    assert view.success_rate == 50.0  # of the look-ups not answered "not found"


def test_not_found_requests_are_counted_apart_from_errors(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one", {"NOPE": UNKNOWN, "DOWN": NetworkError("refused")}),
                         provider_defaults=ONE_ATTEMPT)
    for symbol in ("AAPL", "NOPE", "DOWN"):
        facade.fetch(symbol)
    shown = facade.get_reliability_stats()
    assert shown["counts"] == {"primary": 1, "fallback": 0, "cache_fresh": 0, "cache_stale": 0,
                               "error": 1, "not_found": 1}
    assert shown["error_rate"] == shown["not_found_rate"] == 33.33
    assert shown["providers"]["one"]["failures"] == {"network_error": 1}
    assert shown["providers"]["one"]["not_found"] == 1


def test_delisted_symbols_raise_no_error_rate_alert(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one", {f"OLD{i}": UNKNOWN for i in range(5)}))
    facade.batch_fetch([f"OLD{i}" for i in range(5)] + [f"S{i}" for i in range(20)])
    report = facade.reliability_report()
    assert report.sources.not_found == 5 and report.sources.error == 0
    assert [alert.name for alert in report.alerts] == []


def test_the_store_keeps_not_found_apart_and_reads_old_runs_the_same(tmp_path: Path,
                                                                      clock: FakeClock) -> None:
    stats = ReliabilityStats(clock=clock)
    stats.record_call("yf", latency_ms=80.0, successes=3, failures={"symbol_not_found": 1})
    store = StatsStore(tmp_path / "stats.sqlite3")
    store.start_run(RunInfo("new", clock(), "fp", 1, "host"))
    store.write("new", Flush(at=clock(), counters=stats.totals(), breaker_states={}))
    # A run written before not-found was counted apart: a failure with its code.
    store.start_run(RunInfo("old", clock(), "fp", 1, "host"))
    store.write("old", Flush(at=clock(), breaker_states={}, counters={
        ("provider", "yf", "calls", ""): 4, ("provider", "yf", "successes", ""): 3,
        ("provider", "yf", "failures", "symbol_not_found"): 1}))
    for run in ("new", "old"):
        view = store.report([run]).providers["yf"]
        assert (view.not_found, dict(view.failures), view.success_rate) == (1, {}, 100.0)
    store.close()


def test_frame_and_prometheus_show_not_found_apart(clock: FakeClock) -> None:
    stats = ReliabilityStats(clock=clock)
    stats.record_call("yf", latency_ms=80.0, successes=3,
                      failures={"symbol_not_found": 2, "rate_limited": 1})
    report = stats.snapshot({})
    frame = stats_frame(report)
    assert (frame.loc["yf", "not_found"], frame.loc["yf", "failures"]) == (2, 1)
    assert "failures_symbol_not_found" not in frame.columns
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(prometheus_text(report))
               for s in family.samples}
    assert samples["resilient_provider_provider_not_found_total", (("provider", "yf"),)] == 2
    assert not [key for key in samples if ("code", "symbol_not_found") in key[1]]


def test_the_stats_table_has_a_not_found_column_and_row(make_facade: MakeFacade, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stats.sqlite3"
    facade = make_facade(ScriptedProvider("one", {"NOPE": UNKNOWN}), stats={"path": str(path)})
    facade.batch_fetch(["AAPL", "NOPE"])
    facade.close()
    config = tmp_path / "config.yaml"
    config.write_text(f"stats: {{path: {json.dumps(str(path))}}}\n")
    assert main(["stats", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["not_found"][:3] == ["not_found", "1", "50.0%"]
    assert rows["error"][:2] == ["error", "0"]
    assert "not found" in next(line for line in out.splitlines() if line.startswith("provider "))
    assert rows["one"][1:4] == ["2", "100.0%", "1"]  # calls, success, not found
    assert "symbol_not_found" not in out  # not among the top errors


def test_the_timeline_counts_not_found_and_answered_latency_only() -> None:
    refused, answered = bucket_of(2.0), bucket_of(300.0)
    delta = {("provider", "yf", "calls", ""): 10, ("provider", "yf", "failures", "network_error"): 4,
             ("provider", "yf", "not_found", ""): 1,
             ("provider", "yf", "latency_bucket", str(refused)): 4,
             ("provider", "yf", "latency_bucket", str(answered)): 2,
             ("provider", "yf", "answered_latency_bucket", str(answered)): 2}
    (sample,) = _samples(delta)
    assert (sample.calls, sample.failures) == (10, 4)
    assert sample.p50_ms == sample.p95_ms and sample.p50_ms is not None
    assert sample.p50_ms >= 300.0  # the refused calls' 2 ms is no answer's latency
