"""The report: its dict form keeps the keys (and their order) users see, live and stored; live
and stored reports of one run agree; the typed report reads as its dict."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest

from resilient_provider import ReliabilityReport
from resilient_provider.errors import ProviderUnavailableError
from resilient_provider.result import DataSource, FetchResult
from resilient_provider.stats import ReliabilityStats
from resilient_provider.stats.histogram import bucket_of, upper_bound_ms
from resilient_provider.stats.recorder import RunRecorder
from resilient_provider.stats.report import BreakerReport, LatencyPercentiles
from resilient_provider.strategy.breaker import BreakerSnapshot
from resilient_provider.testing import FakeClock, ScriptedProvider
from tests.conftest import MakeFacade, fast_settings

RATES = ["primary_success_rate", "fallback_usage_rate", "fresh_cache_usage_rate",
         "stale_cache_usage_rate", "total_success_rate", "error_rate", "not_found_rate",
         "uptime_estimate"]
LIVE_TOP = ["run_id", "started_at", "total_requests", "counts", *RATES, "providers",
            "cache_errors", "coalesced_requests", "not_found_cache_hits", "upstreams", "alerts"]
STORED_TOP = ["run_id", "runs", "run_ids", "started_at", "ended_at", "config_fingerprint",
              "total_requests", "counts", *RATES, "providers", "cache_errors",
              "coalesced_requests", "not_found_cache_hits", "upstreams", "alerts"]
COUNTS = ["primary", "fallback", "cache_fresh", "cache_stale", "error", "not_found"]
LIVE_PROVIDER = ["calls", "successes", "success_rate", "failures", "not_found", "skipped",
                 "retries", "latency_ms", "breaker"]
STORED_PROVIDER = ["calls", "successes", "failures", "not_found", "skipped", "retries",
                   "success_rate", "latency_ms", "breaker"]
LATENCY = ["p50", "p95", "p99"]
LIVE_BREAKER = ["state", "failure_count", "trips", "retry_in_s", "open_for_s"]
STORED_BREAKER = ["state", "trips"]
LIVE_ALERT = ["name", "message", "value", "threshold", "provider"]
STORED_ALERT = ["name", "provider", "message", "value", "threshold"]
#: The chain (the breakers, primary first), then a provider counted without a breaker.
PROVIDERS = ["yf", "yq", "spare", "adhoc"]


class FixedBreaker:
    """A breaker whose snapshot never changes."""

    def __init__(self, view: BreakerSnapshot) -> None:
        self.view = view

    def snapshot(self) -> BreakerSnapshot:
        return self.view


def count_a_run(stats: ReliabilityStats) -> None:
    """Every kind of figure: each source, failures, skips, retries, cache errors, coalescing;
    a provider with no breaker (``adhoc``) and a breaker never called (``spare``)."""
    for source, count in zip(DataSource, (16, 5, 2, 1, 2), strict=True):
        stats.record_request(source, count)
    for latency_ms in (100.0, 200.0, 333.3, 400.0, 12.25):
        stats.record_call("yf", latency_ms=latency_ms, successes=3, failures={"timeout": 1})
    stats.record_call("yf", latency_ms=900.0, successes=1, failures={"rate_limited": 2})
    stats.record_retry("yf")
    stats.record_skip("yf", "circuit_open", 3)
    stats.record_call("yq", latency_ms=50.0, successes=5, failures={})
    stats.record_call("adhoc", latency_ms=7.0, successes=0, failures={"server_error": 1})
    stats.record_skip("adhoc", "deadline_exceeded")
    stats.record_cache_error("set")
    stats.record_cache_error("get")
    stats.record_coalesced([FetchResult("A", DataSource.PRIMARY, data={}),
                            FetchResult("B", DataSource.FALLBACK, data={})])
    stats.record_not_found_hits(2)  # answered by the negative cache: 2 of the errors above


@pytest.fixture
def recorder(tmp_path: Path, clock: FakeClock) -> Iterator[RunRecorder]:
    """A recorder over a counted run, its store in ``tmp_path``, its breakers fixed: ``yf``
    open for 400 s (an alert), ``yq`` closed, ``spare`` half-open."""
    stats = ReliabilityStats(clock=clock)
    breakers = {"yf": FixedBreaker(BreakerSnapshot("open", 1, 2, 25.0, 400.0)),
                "yq": FixedBreaker(BreakerSnapshot("closed", 0, 0, None)),
                "spare": FixedBreaker(BreakerSnapshot("half_open", 0, 1, None, 12.5))}
    settings = fast_settings(stats={"path": str(tmp_path / "stats.sqlite3"),
                                    "flush_interval_s": 3600})
    made = RunRecorder(stats, settings, clock=clock, breakers=breakers)
    count_a_run(stats)
    clock.advance(5)
    yield made
    made.close()


def stored(recorder: RunRecorder, run_ids: list[str]) -> dict[str, Any]:
    assert recorder.store is not None
    return recorder.store.report(run_ids).to_dict()


def assert_provider_shapes(report: Mapping[str, Any], provider_keys: list[str],
                           breaker_keys: list[str]) -> None:
    assert list(report["providers"]) == PROVIDERS
    for name, view in report["providers"].items():
        assert list(view["latency_ms"]) == LATENCY, name
        if "breaker" in view:
            assert list(view) == provider_keys, name
            assert list(view["breaker"]) == breaker_keys, name
        else:
            assert list(view) == provider_keys[:-1], name


def test_a_live_report_has_the_keys_of_get_reliability_stats(recorder: RunRecorder) -> None:
    live = recorder.report().to_dict()
    assert list(live) == LIVE_TOP and list(live["counts"]) == COUNTS
    assert_provider_shapes(live, LIVE_PROVIDER, LIVE_BREAKER)
    assert "breaker" not in live["providers"]["adhoc"]  # no breaker, no entry
    assert [a["name"] for a in live["alerts"]] == ["fallback_usage", "error_rate", "breaker_open"]
    assert all(list(alert) == LIVE_ALERT for alert in live["alerts"])
    assert isinstance(live["started_at"], str) and isinstance(live["run_id"], str)
    assert list(live["cache_errors"]) == ["set", "get"]  # in the order first counted
    assert list(live["providers"]["yf"]["failures"]) == ["timeout", "rate_limited"]


def test_a_stored_report_has_the_keys_of_stats_json(recorder: RunRecorder) -> None:
    recorder.report()  # the alerts that hold are stored with the flush
    assert recorder.flush()
    report = stored(recorder, [recorder.stats.run_id])
    assert list(report) == STORED_TOP and list(report["counts"]) == COUNTS
    assert_provider_shapes(report, STORED_PROVIDER, STORED_BREAKER)
    assert report["providers"]["adhoc"]["breaker"] == {"state": None, "trips": 0}
    assert report["providers"]["spare"]["breaker"] == {"state": "half_open", "trips": 1}
    assert all(list(alert) == STORED_ALERT for alert in report["alerts"])
    assert (report["runs"], report["run_ids"]) == (1, [recorder.stats.run_id])
    assert report["ended_at"] is None and isinstance(report["config_fingerprint"], str)
    assert list(report["cache_errors"]) == ["get", "set"]  # as the store sums them


def test_a_summed_stored_report_has_the_same_keys_and_no_breaker_state(
        recorder: RunRecorder, clock: FakeClock) -> None:
    first = recorder.stats.run_id
    recorder.rollover()
    recorder.stats.record_request(DataSource.PRIMARY, 3)
    clock.advance(3)
    recorder.flush()
    second = recorder.stats.run_id
    summed = stored(recorder, [first, second])
    assert list(summed) == STORED_TOP
    assert summed["run_id"] == "2 runs" and summed["runs"] == 2
    assert summed["run_ids"] == sorted([first, second]) and summed["ended_at"] is None
    assert_provider_shapes(summed, STORED_PROVIDER, STORED_BREAKER)
    assert {view["breaker"]["state"] for view in summed["providers"].values()} == {None}


def test_a_report_of_no_stored_run_has_the_keys_and_nothing_in_them(
        recorder: RunRecorder) -> None:
    empty = stored(recorder, ["no-such-run"])
    assert list(empty) == STORED_TOP
    assert (empty["run_id"], empty["runs"], empty["run_ids"]) == ("0 runs", 0, [])
    assert (empty["started_at"], empty["ended_at"], empty["config_fingerprint"]) == (None, None, "")
    assert empty["providers"] == {} and empty["alerts"] == [] and empty["total_requests"] == 0


# --- the typed report ----------------------------------------------------------------------------


def test_live_and_stored_reports_of_one_run_agree_on_every_count(recorder: RunRecorder) -> None:
    live = recorder.report()
    assert recorder.flush() and recorder.store is not None
    stored_ = recorder.store.report([live.run_id])
    assert (stored_.run_id, stored_.started_at) == (live.run_id, live.started_at)
    assert stored_.sources == live.sources  # every source count, so every rate
    assert stored_.cache_errors == live.cache_errors
    assert stored_.coalesced_requests == live.coalesced_requests == 2
    assert stored_.not_found_cache_hits == live.not_found_cache_hits == 2
    assert list(stored_.providers) == list(live.providers) == PROVIDERS
    for name, mine in live.providers.items():
        theirs = stored_.providers[name]
        assert (theirs.calls, theirs.successes, theirs.failures, theirs.skipped, theirs.retries,
                theirs.success_rate) == (mine.calls, mine.successes, mine.failures, mine.skipped,
                                         mine.retries, mine.success_rate), name
        assert theirs.breaker is not None
        if mine.breaker is None:
            assert (theirs.breaker.state, theirs.breaker.trips) == (None, 0), name
        else:
            assert (theirs.breaker.state, theirs.breaker.trips) == (mine.breaker.state,
                                                                    mine.breaker.trips), name
    assert ({(a.name, a.provider, a.message, a.value, a.threshold) for a in stored_.alerts}
            == {(a.name, a.provider, a.message, a.value, a.threshold) for a in live.alerts})
    assert len(live.alerts) == 3 and live.stored is None and stored_.stored is not None


def test_live_percentiles_are_exact_and_stored_ones_bucket_bounds(recorder: RunRecorder) -> None:
    live = recorder.report()
    assert recorder.flush() and recorder.store is not None
    stored_ = recorder.store.report([live.run_id])
    assert live.providers["yf"].latency == LatencyPercentiles(200.0, 900.0, 900.0)
    assert stored_.providers["yf"].latency == LatencyPercentiles(
        upper_bound_ms(bucket_of(200.0)), upper_bound_ms(bucket_of(900.0)),
        upper_bound_ms(bucket_of(900.0)))
    assert live.providers["spare"].latency == LatencyPercentiles(None, None, None)


def test_the_typed_report_reads_as_its_dict(recorder: RunRecorder) -> None:
    report = recorder.report()
    shown = report.to_dict()
    assert report.sources.total_requests == shown["total_requests"] == 28
    assert report.sources.fallback_usage_rate == shown["fallback_usage_rate"] == 21.43
    assert report.sources.count(DataSource.CACHE_STALE) == shown["counts"]["cache_stale"] == 1
    yf = report.providers["yf"]
    assert yf.success_rate == shown["providers"]["yf"]["success_rate"] == 69.57
    assert yf.breaker == BreakerReport("open", trips=2, failure_count=1, retry_in_s=25.0,
                                       open_for_s=400.0)
    assert report.started_at is not None
    assert report.started_at.isoformat(timespec="milliseconds") == shown["started_at"]


def test_a_report_is_frozen(recorder: RunRecorder) -> None:
    report = recorder.report()
    with pytest.raises(FrozenInstanceError):
        report.run_id = "other"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        report.providers["yf"].calls = 0  # type: ignore[misc]


def test_the_facade_gives_the_same_report_typed_and_as_a_dict(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one", {"B": ProviderUnavailableError("down")}),
                         ScriptedProvider("two"))
    facade.batch_fetch(["A", "B", "C"])
    report = facade.reliability_report()
    assert isinstance(report, ReliabilityReport)
    assert report.to_dict() == facade.get_reliability_stats()
    assert (report.sources.primary, report.sources.fallback) == (2, 1)
    assert report.providers["one"].failures == {"provider_unavailable": 1}
