"""A façade's run on record: flushed to the store on close, every interval, on reset; alerts."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from resilient_provider.errors import ServerError
from resilient_provider.stats.store import StatsStore
from resilient_provider.testing import FakeClock, ScriptedProvider
from tests.conftest import MakeFacade

DOWN = ServerError("HTTP 503")


def stored(path: Path, run_id: str) -> dict[str, Any]:
    store = StatsStore(path, create=False)
    try:
        return store.report([run_id]).to_dict()
    finally:
        store.close()


def test_close_writes_the_run_with_its_counts_and_end(make_facade: MakeFacade,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    facade = make_facade(ScriptedProvider("one", {"B": DOWN}), ScriptedProvider("two"),
                         stats={"path": str(path)})
    facade.batch_fetch(["A", "B", "C"])
    live = facade.get_reliability_stats()
    facade.close()
    report = stored(path, facade.run_id)
    assert report["counts"] == live["counts"] == {
        "primary": 2, "fallback": 1, "cache_fresh": 0, "cache_stale": 0, "error": 0,
        "not_found": 0}
    assert report["ended_at"] is not None and len(report["config_fingerprint"]) == 12
    for name in ("one", "two"):
        mine, theirs = report["providers"][name], live["providers"][name]
        for key in ("calls", "successes", "failures", "retries", "skipped"):
            assert mine[key] == theirs[key], (name, key)


def test_reset_stats_ends_one_run_and_starts_another(make_facade: MakeFacade,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    facade = make_facade(ScriptedProvider("one"), stats={"path": str(path)})
    facade.fetch("A")
    first = facade.run_id
    facade.reset_stats()
    facade.fetch("B")
    facade.fetch("C")
    facade.close()
    assert facade.run_id != first
    assert stored(path, first)["total_requests"] == 1
    assert stored(path, facade.run_id)["total_requests"] == 2
    assert stored(path, first)["ended_at"] is not None


def test_counts_reach_the_store_every_interval_without_a_close(make_facade: MakeFacade,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    facade = make_facade(ScriptedProvider("one"),
                         stats={"path": str(path), "flush_interval_s": 0.02})
    facade.batch_fetch(["A", "B", "C", "D"])
    deadline = time.monotonic() + 10
    while stored(path, facade.run_id)["total_requests"] < 4:  # a bounded wait for the tick
        assert time.monotonic() < deadline, "the periodic flush never came"
        time.sleep(0.01)
    assert stored(path, facade.run_id)["ended_at"] is None  # still running


def test_a_failed_write_is_kept_and_written_with_the_next_flush(make_facade: MakeFacade,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    facade = make_facade(ScriptedProvider("one"), stats={"path": str(path)})
    recorder = facade._recorder
    assert recorder.store is not None
    real_write = recorder.store.write
    calls = []

    def locked_once(run_id: str, flush: Any) -> None:
        calls.append(flush)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        real_write(run_id, flush)

    recorder.store.write = locked_once  # type: ignore[method-assign]
    facade.fetch("A")
    assert recorder.flush() is False
    facade.fetch("B")
    assert recorder.flush() is True
    recorder.store.write = real_write  # type: ignore[method-assign]
    facade.close()
    assert stored(path, facade.run_id)["total_requests"] == 2


def test_with_stats_disabled_no_store_is_written(make_facade: MakeFacade, tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    facade = make_facade(ScriptedProvider("one"), stats={"path": str(path), "enabled": False})
    facade.fetch("A")
    facade.close()
    assert not path.exists()
    assert facade.get_reliability_stats()["total_requests"] == 1


def test_a_store_that_cannot_be_opened_is_logged_and_the_run_goes_on(
        make_facade: MakeFacade, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    facade = make_facade(ScriptedProvider("one"), stats={"path": str(blocker / "stats.sqlite3")})
    assert facade.get_ticker_info("A")["_data_source"] == "primary"
    assert "statistics will not be kept" in caplog.text


# --- alerts --------------------------------------------------------------------------------------


def alert_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "alert " in r.getMessage()]


def test_fallback_usage_over_the_threshold_is_an_alert_logged_once_per_window(
        make_facade: MakeFacade, clock: FakeClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    failing = {f"S{i}": DOWN for i in range(5)}
    facade = make_facade(ScriptedProvider("one", failing), ScriptedProvider("two"),
                         provider_defaults={"retry": {"max_attempts": 1},
                                            "breaker": {"failure_threshold": 1000}},
                         stats={"path": str(tmp_path / "s.db"),
                                "alerts": {"min_requests": 20, "window_s": 300}})
    facade.batch_fetch([f"S{i}" for i in range(20)])  # 5 of 20 (25%) from the fallback
    alerts = facade.get_reliability_stats()["alerts"]
    assert [(a["name"], a["value"], a["threshold"]) for a in alerts] == [
        ("fallback_usage", 25.0, 10.0)]
    facade.get_reliability_stats()
    assert len(alert_lines(caplog)) == 1 and "25.0% of 20 requests" in alert_lines(caplog)[0]
    clock.advance(301)
    facade.get_reliability_stats()
    assert len(alert_lines(caplog)) == 2


def test_rates_are_not_judged_before_min_requests(make_facade: MakeFacade, tmp_path: Path) -> None:
    facade = make_facade(ScriptedProvider("one", {"A": DOWN}),
                         provider_defaults={"retry": {"max_attempts": 1}},
                         stats={"path": str(tmp_path / "s.db")})
    facade.fetch("A")  # one request, one error: 100%, but too few to mean anything
    assert facade.get_reliability_stats()["alerts"] == []


def test_an_error_rate_over_the_threshold_is_an_alert(make_facade: MakeFacade,
                                                      tmp_path: Path) -> None:
    facade = make_facade(ScriptedProvider("one", {"S0": DOWN}),
                         provider_defaults={"retry": {"max_attempts": 1},
                                            "breaker": {"failure_threshold": 1000}},
                         stats={"path": str(tmp_path / "s.db"), "alerts": {"min_requests": 10}})
    facade.batch_fetch([f"S{i}" for i in range(10)])
    alerts = facade.get_reliability_stats()["alerts"]
    assert [(a["name"], a["value"]) for a in alerts] == [("error_rate", 10.0)]


def test_a_breaker_open_for_over_five_minutes_is_an_alert(make_facade: MakeFacade,
                                                          clock: FakeClock,
                                                          tmp_path: Path) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"),
                         provider_defaults={"retry": {"max_attempts": 1}},
                         stats={"path": str(tmp_path / "s.db")})
    for symbol in ("A", "B", "C"):  # three failures open the breaker (fast_settings)
        facade.fetch(symbol)
    assert facade.get_reliability_stats()["alerts"] == []
    for _ in range(11):  # half-open trials keep failing: it stays unhealthy
        clock.advance(30)
        facade.fetch("D")
    alerts = facade.get_reliability_stats()["alerts"]
    assert [(a["name"], a["provider"]) for a in alerts] == [("breaker_open", "one")]
    assert alerts[0]["value"] > 300
    facade.close()
    stored_alerts = stored(tmp_path / "s.db", facade.run_id)["alerts"]
    assert [a["name"] for a in stored_alerts] == ["breaker_open"]


def test_a_facade_dropped_without_close_is_collected_and_its_run_ended(tmp_path: Path) -> None:
    import gc
    import threading

    from resilient_provider import ResilientProvider
    from tests.conftest import fast_settings

    path = tmp_path / "stats.sqlite3"
    facade = ResilientProvider([ScriptedProvider("one")],
                               settings=fast_settings(stats={"path": str(path)}))
    facade.fetch("A")
    run_id = facade.run_id
    thread_name = f"rp-stats-{run_id}"
    assert any(t.name == thread_name for t in threading.enumerate())
    (thread,) = [t for t in threading.enumerate() if t.name == thread_name]
    del facade
    gc.collect()
    # The finalizer hands the close to the recorder's thread (closing inside a GC pass could
    # wait for a lock the interrupted code holds): the run is ended once that thread is done.
    thread.join(timeout=10)
    assert not thread.is_alive()
    report = stored(path, run_id)
    assert report["total_requests"] == 1 and report["ended_at"] is not None


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's writer in the middle of its transaction, as seen by the store."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_close_waits_for_a_busy_store_no_longer_than_asked(
        make_facade: MakeFacade, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The closing flush used the store's 10 s busy timeout whatever the wait asked for, so
    # exit (which asks for a second) could wait 10 s for another process's flush (issue 15).
    path = tmp_path / "stats.sqlite3"
    facade = make_facade(ScriptedProvider("one"), stats={"path": str(path)})
    facade.fetch("A")
    other = hold_write_lock(path)
    try:
        started = time.monotonic()
        facade._recorder.close(wait_s=0.3)
        took = time.monotonic() - started
    finally:
        other.rollback()
        other.close()
    assert took < 0.9  # 0.3 s asked for; well below the store's 1 s busy timeout
    assert any("could not write statistics" in r.getMessage() for r in caplog.records)


def test_a_closing_flush_is_retried_while_another_writer_finishes(
        make_facade: MakeFacade, tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite3"
    facade = make_facade(ScriptedProvider("one"), stats={"path": str(path)})
    facade.fetch("A")
    other = hold_write_lock(path)
    def release() -> None:
        other.rollback()
        other.close()

    releaser = threading.Timer(0.2, release)
    releaser.start()
    try:
        facade._recorder.close(wait_s=5.0)
    finally:
        releaser.join()
    report = stored(path, facade.run_id)
    assert report["total_requests"] == 1 and report["ended_at"] is not None
