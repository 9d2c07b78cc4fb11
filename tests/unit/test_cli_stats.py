"""`resilient-provider stats`: selecting runs, table / JSON / Prometheus / plot, exit codes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from resilient_provider.cli import main
from resilient_provider.errors import ServerError
from resilient_provider.stats.histogram import bucket_of, upper_bound_ms
from resilient_provider.stats.store import AlertRecord, Flush, RunInfo, Sample, StatsStore
from resilient_provider.testing import FakeClock, ScriptedProvider
from tests.conftest import MakeFacade

NOW = time.time()
DAY = 86400.0


def write_run(store: StatsStore, run_id: str, started_at: float, *, primary: int, fallback: int,
              error: int = 0, ended: bool = True, sick: bool = False, cache_fresh: int = 0,
              cache_stale: int = 0) -> None:
    """A run of ``primary + fallback + error`` requests over two flushes; a sick run has a
    slow, rate-limited primary, its breaker left open and a fallback alert."""
    store.start_run(RunInfo(run_id, started_at, f"fp-{run_id}", 4242, "host"))
    latency_ms = 900.0 if sick else 120.0
    for flush_index in range(2):
        counters = {("source", "", "requests", "primary"): primary,
                    ("source", "", "requests", "fallback"): fallback,
                    ("source", "", "requests", "error"): error,
                    ("source", "", "requests", "cache_fresh"): cache_fresh,
                    ("source", "", "requests", "cache_stale"): cache_stale,
                    ("provider", "yfinance", "calls", ""): primary + fallback + error,
                    ("provider", "yfinance", "successes", ""): primary,
                    ("provider", "yfinance", "failures", "rate_limited"): fallback,
                    ("provider", "yfinance", "failures", "timeout"): error,
                    ("provider", "yfinance", "retries", ""): fallback,
                    ("provider", "yfinance", "latency_bucket", str(bucket_of(latency_ms))): primary,
                    ("provider", "yahooquery", "calls", ""): fallback,
                    ("provider", "yahooquery", "successes", ""): fallback,
                    ("provider", "yfinance", "trips", ""): 1 if sick and flush_index == 0 else 0}
        store.write(run_id, Flush(
            at=started_at + 10 * (flush_index + 1),
            counters={key: value for key, value in counters.items() if value},
            breaker_states={"yfinance": "open" if sick else "closed", "yahooquery": "closed"},
            samples=[Sample("yfinance", primary + fallback, fallback, latency_ms, latency_ms * 2)],
            alerts=[AlertRecord("fallback_usage", None, "fallback answered 50% of requests",
                                50.0, 10.0)] if sick else []))
    if ended:
        store.end_run(run_id, started_at + 30)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Three runs: ten days ago, two days ago (sick) and an hour ago (still running)."""
    path = tmp_path / "stats.sqlite3"
    store = StatsStore(path)
    write_run(store, "old000000001", NOW - 10 * DAY, primary=10, fallback=0)
    write_run(store, "sick00000002", NOW - 2 * DAY, primary=5, fallback=5, error=1, sick=True,
              cache_fresh=3, cache_stale=2)
    write_run(store, "last00000003", NOW - 3600, primary=8, fallback=1, ended=False)
    store.close()
    return path


@pytest.fixture
def config(tmp_path: Path, store_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"stats: {{path: '{store_path}'}}\n")
    return str(path)


def stats(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["stats", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stored(path: Path, run_ids: list[str]) -> dict[str, Any]:
    store = StatsStore(path, create=False)
    try:
        return store.report(run_ids).to_dict()
    finally:
        store.close()


def test_the_default_is_the_last_run_as_a_table(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stats(capsys, "--config", config)
    assert code == 0
    header = out.splitlines()[0]
    assert "run last00000003" in header and "not ended" in header and "fp-last00000003" in header
    assert "18 requests" in out  # 9 per flush, two flushes
    assert [line.split() for line in out.splitlines() if line.startswith(("primary ", "fallback "))] == [
        ["primary", "16", "88.9%"], ["fallback", "2", "11.1%"]]
    yfinance = next(line.split() for line in out.splitlines() if line.startswith("yfinance"))
    assert yfinance[:5] == ["yfinance", "18", "88.9%", "0", "2"]  # calls, success, not found, retries
    assert "rate_limited 2" in out and "alerts: none" in out
    assert "sick00000002" not in out and "old000000001" not in out


def test_a_chosen_run_shows_its_end_breaker_trips_errors_and_alerts(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = stats(capsys, "--run", "sick00000002", "--config", config)
    assert code == 0
    assert "run sick00000002" in out.splitlines()[0] and "ended 20" in out.splitlines()[0]
    yfinance = next(line for line in out.splitlines() if line.startswith("yfinance"))
    assert "open" in yfinance and "rate_limited 10, timeout 2" in yfinance
    assert f"{upper_bound_ms(bucket_of(900.0)):.0f} ms" in yfinance  # stored: bucket bounds
    assert "fallback_usage: fallback answered 50% of requests" in out


def test_all_sums_every_run_and_lists_each(config: str, store_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stats(capsys, "--all", "--config", config)
    assert code == 0
    assert out.splitlines()[0].startswith("3 runs | first started ")
    assert "not all ended" in out.splitlines()[0]
    total = stored(store_path, ["old000000001", "sick00000002", "last00000003"])["total_requests"]
    assert f"{total} requests" in out and total == 20 + 32 + 18
    listed = [line.split()[0] for line in out.splitlines() if line[:4] in ("old0", "sick", "last")]
    assert listed == ["old000000001", "sick00000002", "last00000003"]  # oldest first


def test_since_selects_the_runs_started_within_the_duration(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = stats(capsys, "--since", "3d", "--json", "--config", config)
    assert code == 0
    shown = json.loads(out)
    assert [r["run_id"] for r in shown["runs"]] == ["sick00000002", "last00000003"]
    assert shown["summary"]["runs"] == 2 and shown["summary"]["total_requests"] == 32 + 18


def test_repeated_run_options_sum_those_runs(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stats(capsys, "--run", "old000000001", "--run", "last00000003", "--json",
                         "--config", config)
    assert code == 0
    shown = json.loads(out)
    assert shown["summary"]["run_ids"] == ["last00000003", "old000000001"]
    assert shown["summary"]["counts"]["primary"] == 20 + 16


def test_json_of_one_run_is_its_stored_report(config: str, store_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stats(capsys, "--run", "sick00000002", "--json", "--config", config)
    assert code == 0
    assert json.loads(out) == stored(store_path, ["sick00000002"])


def test_prometheus_output_parses_back_to_the_report(config: str, store_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stats(capsys, "--all", "--prometheus", "--config", config)
    assert code == 0
    report = stored(store_path, ["old000000001", "sick00000002", "last00000003"])
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(out) for s in family.samples}
    for source, count in report["counts"].items():
        assert samples["resilient_provider_requests_total", (("source", source),)] == count
    yf = report["providers"]["yfinance"]
    assert samples["resilient_provider_provider_calls_total", (("provider", "yfinance"),)] == yf["calls"]
    assert samples["resilient_provider_provider_failures_total",
                   (("code", "rate_limited"), ("provider", "yfinance"))] == yf["failures"]["rate_limited"]
    assert samples["resilient_provider_breaker_trips_total", (("provider", "yfinance"),)] == 1


def test_plot_writes_a_png(config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "runs.png"
    code, out, err = stats(capsys, "--all", "--plot", str(target), "--config", config)
    assert code == 0 and "3 runs" in out and f"wrote {target}" in err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 10_000


def test_plot_without_matplotlib_exits_2_with_the_install_hint(
    config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # find_spec then finds nothing
    code, out, err = stats(capsys, "--plot", str(tmp_path / "x.png"), "--config", config)
    assert code == 2 and out == ""
    assert "pip install 'resilient-provider[plot]'" in err


def test_an_unknown_run_id_exits_2_naming_it(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = stats(capsys, "--run", "nosuchrun", "--config", config)
    assert code == 2 and "unknown run id 'nosuchrun'" in err


@pytest.mark.parametrize("value", ["7x", "soon", "0", "-1"])
def test_a_bad_since_exits_2_naming_the_value(value: str, config: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = stats(capsys, f"--since={value}", "--config", config)
    assert code == 2 and f"--since {value!r}" in err


def test_no_run_within_since_exits_1(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = stats(capsys, "--since", "10m", "--config", config)
    assert code == 1 and out == "" and "no run started within 10m" in err


def test_an_empty_store_exits_1_saying_nothing_was_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    StatsStore(tmp_path / "empty.sqlite3").close()
    config = tmp_path / "empty.yaml"
    config.write_text(f"stats: {{path: '{tmp_path / 'empty.sqlite3'}'}}\n")
    for selection in ([], ["--all"]):
        code, _, err = stats(capsys, *selection, "--config", str(config))
        assert code == 1 and f"no statistics recorded yet in {tmp_path / 'empty.sqlite3'}" in err


def test_a_missing_store_exits_2_and_is_not_created(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "stats.sqlite3"
    config = tmp_path / "config.yaml"
    config.write_text(f"stats: {{path: '{missing}'}}\n")
    code, _, err = stats(capsys, "--config", str(config))
    assert code == 2 and f"no statistics store at {missing}" in err
    assert not missing.exists() and not missing.parent.exists()


def test_a_directory_at_the_store_path_exits_2_and_is_left_where_it_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A reading command never moves anything aside: only a writer repairs the store.
    directory = tmp_path / "stats.sqlite3"
    (directory / "inside").mkdir(parents=True)
    config = tmp_path / "config.yaml"
    config.write_text(f"stats: {{path: '{directory}'}}\n")
    code, _, err = stats(capsys, "--config", str(config))
    assert code == 2 and f"{directory} is a directory, not a statistics store" in err
    assert (directory / "inside").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "stats.sqlite3"]


def test_a_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("stats: {flush_interval_s: never}\n")
    code, _, err = stats(capsys, "--config", str(config))
    assert code == 2 and "flush_interval_s" in err


def test_reading_creates_no_run(config: str, store_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    for args in ([], ["--all", "--json"], ["--since", "3d", "--prometheus"]):
        assert stats(capsys, *args, "--config", config)[0] == 0
    store = StatsStore(store_path, create=False)
    try:
        assert store.run_ids() == ["last00000003", "sick00000002", "old000000001"]
    finally:
        store.close()


def test_stats_shows_what_a_facade_recorded(make_facade: MakeFacade, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "facade.sqlite3"
    facade = make_facade(ScriptedProvider("one", {"B": ServerError("HTTP 503")}),
                         ScriptedProvider("two"), stats={"path": str(path)},
                         provider_defaults={"retry": {"max_attempts": 1}})
    facade.batch_fetch(["A", "B", "C"])
    live = facade.get_reliability_stats()
    facade.close()
    config = tmp_path / "config.yaml"
    config.write_text(f"stats: {{path: '{path}'}}\n")
    code, out, _ = stats(capsys, "--json", "--config", str(config))
    assert code == 0
    shown = json.loads(out)
    assert shown["run_id"] == facade.run_id and shown["ended_at"] is not None
    assert shown["counts"] == live["counts"] == {
        "primary": 2, "fallback": 1, "cache_fresh": 0, "cache_stale": 0, "error": 0,
        "not_found": 0}
    assert shown["providers"]["one"]["failures"] == live["providers"]["one"]["failures"] == {"server_error": 1}
    code, out, _ = stats(capsys, "--config", str(config))
    assert code == 0 and f"run {facade.run_id}" in out and "server_error 1" in out


# --- where the store is, and what the lists show ---------------------------------------------


def test_stats_finds_the_store_whatever_config_wrote_it(make_facade: MakeFacade, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # Two configurations with caches in different places and no stats.path: both runs go to
    # the user's store, which a bare `stats` reads (beside each cache, it found neither).
    run_ids = []
    for cache_dir in (tmp_path / "rp-cache", tmp_path / "project" / "cache"):
        facade = make_facade(ScriptedProvider("one"),  # the fake clock's runs: kept 10 years
                             cache_settings={"backend": "memory", "path": str(cache_dir)},
                             stats={"retention": 10 * 365 * 86400})
        facade.fetch("AAPL")
        facade.close()
        run_ids.append(facade.run_id)
    code, out, _ = stats(capsys, "--all", "--json")
    assert code == 0
    assert sorted(r["run_id"] for r in json.loads(out)["runs"]) == sorted(run_ids)
    assert not list(tmp_path.rglob("stats.sqlite3"))  # nothing beside the caches
    config = tmp_path / "project" / "config.yaml"
    config.parent.mkdir(exist_ok=True)
    config.write_text("cache: {path: ./cache}\n")  # `stats --config X` reads X's store
    code, out, _ = stats(capsys, "--all", "--json", "--config", str(config))
    assert code == 0 and len(json.loads(out)["runs"]) == 2


def test_stats_with_a_config_reads_the_store_its_stats_path_names(
        make_facade: MakeFacade, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "elsewhere.sqlite3"
    facade = make_facade(ScriptedProvider("one"), stats={"path": str(path)})
    facade.fetch("AAPL")
    facade.close()
    config = tmp_path / "config.yaml"
    config.write_text(f"stats: {{path: {json.dumps(str(path))}}}\n")
    code, out, _ = stats(capsys, "--json", "--config", str(config))
    assert code == 0 and json.loads(out)["run_id"] == facade.run_id
    # Without --config: the run wrote no default store, but its store was noted, and a bare
    # `stats` reads the known store with the latest run (issue 17: "whatever config wrote it").
    code, out, err = stats(capsys, "--json")
    assert code == 0 and json.loads(out)["run_id"] == facade.run_id
    assert f"reading {path}" in err


def test_a_bare_stats_reads_the_known_store_with_the_latest_run(
        make_facade: MakeFacade, clock: FakeClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    runs = {}
    for name in ("first", "second", "default"):
        settings: dict[str, Any] = {"retention": 10 * 365 * 86400}
        if name != "default":
            settings["path"] = str(tmp_path / f"{name}.sqlite3")
        facade = make_facade(ScriptedProvider("one"), stats=settings)
        facade.fetch("AAPL")
        facade.close()
        runs[name] = facade.run_id
        clock.advance(60)
    code, out, err = stats(capsys, "--json")
    assert code == 0 and json.loads(out)["run_id"] == runs["default"] and err == ""
    later = make_facade(ScriptedProvider("one"),
                        stats={"path": str(tmp_path / "first.sqlite3"),
                               "retention": 10 * 365 * 86400})
    later.fetch("AAPL")
    later.close()
    code, out, _ = stats(capsys, "--json")
    assert code == 0 and json.loads(out)["run_id"] == later.run_id


def test_a_damaged_list_of_stores_is_ignored(make_facade: MakeFacade, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from resilient_provider.stats.known_stores import registry_path

    registry_path().parent.mkdir(parents=True, exist_ok=True)
    registry_path().write_text("{not json")
    facade = make_facade(ScriptedProvider("one"),
                         stats={"path": str(tmp_path / "own.sqlite3"),
                                "retention": 10 * 365 * 86400})
    facade.fetch("AAPL")
    facade.close()  # the run is kept, and the list written anew
    code, out, _ = stats(capsys, "--json")
    assert code == 0 and json.loads(out)["run_id"] == facade.run_id


def test_the_per_run_list_has_a_column_per_kind_of_answer(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stats(capsys, "--all", "--config", config)
    assert code == 0
    lines = out.splitlines()
    header = next(line.split() for line in lines if line.startswith("run "))
    assert header == ["run", "started", "ended", "requests", "primary", "fallback",
                      "cache_fresh", "cache_stale", "error", "not_found", "alerts"]
    sick = next(line for line in lines if line.startswith("sick00000002"))
    # 2 flushes of: 5 primary, 5 fallback, 3 cache_fresh, 2 cache_stale, 1 error.
    assert sick.split()[-8:] == ["32", "10", "10", "6", "4", "2", "0", "1"]


def test_a_provider_with_no_calls_shows_a_dash_not_0_percent(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stats(capsys, "--run", "old000000001", "--config", config)
    assert code == 0
    yahooquery = next(line.split() for line in out.splitlines() if line.startswith("yahooquery"))
    assert yahooquery[:3] == ["yahooquery", "0", "-"]
    assert "0.0%" not in " ".join(yahooquery) and "nan" not in " ".join(yahooquery)
