"""`resilient-provider history`: table, JSON and files over the real adapters and the fake
Yahoo's chart route; bad input, unknown symbols, outages with and without cached bars, Ctrl-C
and a closed pipe."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from resilient_provider import ResilientProvider
from resilient_provider.cli import main
from resilient_provider.config import Settings
from resilient_provider.history import ADJUSTMENTS, INTERVALS, PERIODS
from resilient_provider.history.bars import BAR_COLUMNS, BAR_DTYPES
from resilient_provider.testing import FakeYahooServer, Fault
from resilient_provider.testing.fake_yahoo.request_log import RequestRecord
from tests.conftest import write_fake_yahoo_config
from tests.interrupts import InterruptAfter

#: A past range: every bar in it is final, so a second run is answered from the cache alone.
RANGE = ["--start", "2024-01-02", "--end", "2024-02-01"]


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=8, unknown_symbols=("NOSUCH",), hang_limit_s=120) as server:
        yield server


@pytest.fixture
def config(yahoo: FakeYahooServer, tmp_path: Path) -> str:
    return write_fake_yahoo_config(tmp_path, yahoo.base_url)


def disk_config(yahoo: FakeYahooServer, tmp_path: Path, extra: str = "") -> str:
    """The fake Yahoo config with a disk cache in ``tmp_path``: bars kept across runs."""
    path = Path(write_fake_yahoo_config(tmp_path, yahoo.base_url))
    cache = tmp_path / "cache"
    path.write_text(path.read_text().replace(
        "cache: {backend: memory}", f'cache: {{backend: disk, path: "{cache}"}}') + extra)
    return str(path)


def expected_long(config: str, symbols: list[str]) -> pd.DataFrame:
    """The façade's own long frame for :data:`RANGE` on the same fake Yahoo."""
    with ResilientProvider(settings=Settings.from_yaml(config)) as provider:
        return provider.batch_get_history(symbols, start=RANGE[1], end=RANGE[3])


def read_back(frame: pd.DataFrame) -> pd.DataFrame:
    """A file's rows as the façade's long frame: index (symbol, UTC timestamp), bar dtypes."""
    frame = frame.assign(timestamp=pd.to_datetime(frame["timestamp"], utc=True),
                         symbol=frame["symbol"].astype("string"))
    return frame.set_index(["symbol", "timestamp"]).astype(BAR_DTYPES)[list(BAR_COLUMNS)]


def assert_same_rows(read: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert len(read) > 20
    pd.testing.assert_frame_equal(read, expected, check_index_type=False)


def test_the_table_shows_a_summary_row_per_symbol_and_the_last_bars(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "AAPL", "EURUSD=X", *RANGE, "--config", config]) == 0
    out = capsys.readouterr().out
    long = expected_long(config, ["AAPL", "EURUSD=X"])
    bars = {symbol: long.xs(symbol) for symbol in ("AAPL", "EURUSD=X")}
    assert "price history: 2 symbols, 1d bars, 2024-01-02 00:00 to 2024-02-01 00:00 UTC" in out
    lines = out.splitlines()
    (aapl,) = [line for line in lines if line.startswith("AAPL ")]
    assert aapl.split()[:8] == ["AAPL", "primary", "yfinance", "no", str(len(bars["AAPL"])),
                                "2024-01-02", "2024-01-31",
                                f"{bars['AAPL']['close'].iloc[-1]:,.2f}"]
    (fx,) = [line for line in lines if line.startswith("EURUSD=X ")]
    assert f"{bars['EURUSD=X']['close'].iloc[-1]:.4f}" in fx  # FX rates get four decimals
    assert f"AAPL: last 5 of {len(bars['AAPL'])} bars (America/New_York)" in out
    assert "EURUSD=X: last 5 of" in out
    header = next(line for line in lines if line.startswith("date "))
    assert header.split() == ["date", *BAR_COLUMNS]


def test_bars_0_prints_the_summary_only_and_plurals_agree(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "AAPL", "--start", "2024-01-02", "--end", "2024-01-03",
                 "--bars", "0", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "price history: 1 symbol, 1d bars" in out and "last 5 of" not in out
    assert main(["history", "AAPL", "--start", "2024-01-02", "--end", "2024-01-03",
                 "--config", config]) == 0
    assert "AAPL: 1 bar (America/New_York)" in capsys.readouterr().out


def test_json_is_the_tagged_answers_with_their_bars(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "AAPL", "MSFT", *RANGE, "--json", "--config", config]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert [a["symbol"] for a in answers] == ["AAPL", "MSFT"]
    aapl = answers[0]
    assert (aapl["_data_source"], aapl["_provider"], aapl["_is_stale"]) == (
        "primary", "yfinance", False)
    assert (aapl["interval"], aapl["adjust"], aapl["timezone"]) == (
        "1d", "splits_dividends", "America/New_York")
    assert aapl["_error_code"] is None and aapl["_latency_ms"] >= 0
    assert aapl["bars"][0]["timestamp"] == "2024-01-02T00:00:00-05:00"  # ISO 8601, offset
    rows = pd.DataFrame([{"symbol": a["symbol"], **bar} for a in answers for bar in a["bars"]])
    assert_same_rows(read_back(rows), expected_long(config, ["AAPL", "MSFT"]))


@pytest.mark.parametrize("suffix", ["csv", "parquet", "json"])
def test_output_file_reads_back_as_the_same_rows(
        config: str, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / f"bars.{suffix}"
    assert main(["history", "AAPL", "NVDA", *RANGE, "-o", str(output), "--config", config]) == 0
    if suffix == "csv":
        text = output.read_text()
        assert text.splitlines()[0] == "symbol,timestamp," + ",".join(BAR_COLUMNS)
        assert "AAPL,2024-01-02T00:00:00-05:00," in text
        read = pd.read_csv(output)
    elif suffix == "parquet":
        read = pd.read_parquet(output)
        assert str(read["timestamp"].dtype).endswith(", UTC]")
    else:
        read = pd.DataFrame(json.loads(output.read_text()))
    assert list(read.columns) == ["symbol", "timestamp", *BAR_COLUMNS]
    assert_same_rows(read_back(read), expected_long(config, ["AAPL", "NVDA"]))
    assert f"bars of 2 symbols to {output} in" in capsys.readouterr().err


def test_an_unknown_extension_exits_2_listing_the_allowed_ones(
        yahoo: FakeYahooServer, config: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "AAPL", "-o", str(tmp_path / "bars.xlsx"), "--config", config]) == 2
    err = capsys.readouterr().err
    assert "bars.xlsx" in err and ".csv, .json, .parquet" in err
    assert yahoo.count(route="chart") == 0


def test_parquet_without_pyarrow_exits_2_before_fetching(
        yahoo: FakeYahooServer, config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyarrow" else real_find_spec(name, *a))
    assert main(["history", "AAPL", "-o", str(tmp_path / "b.parquet"), "--config", config]) == 2
    assert "resilient-provider[parquet]" in capsys.readouterr().err
    assert yahoo.count(route="chart") == 0


@pytest.mark.parametrize(("option", "value"), [
    ("--interval", "7d"), ("--period", "2w"), ("--start", "2024-13-01"), ("--end", "yesterday"),
    ("--adjust", "dividends"),
])
def test_a_bad_request_value_exits_2_naming_it(
        yahoo: FakeYahooServer, config: str, option: str, value: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "AAPL", option, value, "--config", config]) == 2
    assert f"{option.lstrip('-')} '{value}'" in capsys.readouterr().err
    assert yahoo.count(route="chart") == 0


def test_a_period_with_dates_exits_2(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "AAPL", "--period", "1y", "--start", "2024-01-01",
                 "--config", config]) == 2
    assert "period='1y' with start/end" in capsys.readouterr().err


def test_a_bad_symbol_exits_2_naming_it(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "AAPL", "BAD/../X", "--config", config]) == 2
    assert "BAD/../X" in capsys.readouterr().err


def test_a_bad_config_exits_2_naming_the_setting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("deadline_s: -3\n")
    assert main(["history", "AAPL", "--config", str(path)]) == 2
    assert "deadline_s" in capsys.readouterr().err


def test_json_before_the_command_with_an_output_file_exits_2(
        config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "history", "AAPL", "-o", str(tmp_path / "b.csv"),
                 "--config", config]) == 2
    assert "give one" in capsys.readouterr().err


def test_a_symbol_yahoo_does_not_know_exits_1_and_its_row_says_so(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "AAPL", "NOSUCH", *RANGE, "--config", config]) == 1
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if line.startswith("NOSUCH ")]
    assert row.split()[1] == "error" and row.split()[-1] == "symbol_not_found"
    assert "NOSUCH: yfinance: Yahoo has no chart for 'NOSUCH'" in out
    assert next(line for line in out.splitlines()
                if line.startswith("AAPL ")).split()[1] == "primary"


def test_both_sources_down_with_nothing_cached_exits_1(
        yahoo: FakeYahooServer, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    yahoo.inject(Fault.server_error(503), route="chart")
    assert main(["history", "AAPL", *RANGE, "--json", "--config", config]) == 1
    (answer,) = json.loads(capsys.readouterr().out)
    assert (answer["_data_source"], answer["_error_code"], answer["bars"]) == (
        "error", "server_error", [])
    assert "yfinance:" in answer["error"] and "yahooquery:" in answer["error"]


def test_both_sources_down_cached_bars_of_a_past_range_are_served_fresh(
        yahoo: FakeYahooServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = disk_config(yahoo, tmp_path)
    assert main(["history", "AAPL", *RANGE, "--json", "--config", config]) == 0
    (live,) = json.loads(capsys.readouterr().out)
    yahoo.inject(Fault.server_error(503), route="chart")
    assert main(["history", "AAPL", *RANGE, "--json", "--config", config]) == 0
    (cached,) = json.loads(capsys.readouterr().out)
    assert (cached["_data_source"], cached["_is_stale"], cached["_provider"]) == (
        "cache_fresh", False, "yfinance")
    assert cached["bars"] == live["bars"]


def test_both_sources_down_cached_bars_up_to_now_are_served_stale(
        yahoo: FakeYahooServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The bar still forming is fresh for 0 s: the second run needs the tail, which fails.
    config = disk_config(yahoo, tmp_path, "history: {forming_fresh_for: 0}\n")
    assert main(["history", "AAPL", "--period", "3mo", "--json", "--config", config]) == 0
    (live,) = json.loads(capsys.readouterr().out)
    yahoo.inject(Fault.server_error(503), route="chart")
    assert main(["history", "AAPL", "--period", "3mo", "--bars", "0", "--config", config]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines()
              if line.startswith("AAPL ")]
    assert row.split()[1:4] == ["cache_stale", "yfinance", "yes"]
    assert row.split()[4] == str(len(live["bars"]))


def test_offline_serves_the_cached_bars_without_a_request(
        yahoo: FakeYahooServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = disk_config(yahoo, tmp_path)
    assert main(["history", "AAPL", *RANGE, "--json", "--config", config]) == 0
    (live,) = json.loads(capsys.readouterr().out)
    asked = yahoo.count(route="chart")
    code = main(["history", "AAPL", "MSFT", *RANGE, "--offline", "--json", "--config", config])
    cached, missing = json.loads(capsys.readouterr().out)
    assert code == 1 and yahoo.count(route="chart") == asked  # no request at all
    assert cached["_data_source"] == "cache_fresh" and cached["bars"] == live["bars"]
    assert (missing["_data_source"], missing["_error_code"]) == ("error", "offline_no_cache")


def test_ctrl_c_writes_the_bars_fetched_so_far_and_exits_130(
        yahoo: FakeYahooServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = Path(write_fake_yahoo_config(tmp_path, yahoo.base_url, timeout_s=60))
    # One chunk at a time: AAPL answers before HANG hangs, and MSFT is never started.
    config.write_text(config.read_text()
                      + "batch_size: 1\nmax_concurrent_requests: 1\ndeadline_s: 120\n")
    yahoo.inject(Fault.hang(), route="chart", symbols=["HANG"])
    hung = threading.Event()
    record = yahoo.record

    def noting_the_hang(entry: RequestRecord) -> None:
        record(entry)
        if entry.fault == "hang":
            hung.set()

    monkeypatch.setattr(yahoo, "record", noting_the_hang)
    cue = InterruptAfter(1, also=hung)  # SIGINT once HANG's request hangs at the fake
    cue.advance(1)
    output = tmp_path / "bars.csv"
    try:
        code = main(["history", "AAPL", "HANG", "MSFT", *RANGE, "-o", str(output),
                     "--config", str(config)])
    finally:
        cue.cancel()
    assert cue.sent.is_set() and code == 130
    assert set(pd.read_csv(output)["symbol"]) == {"AAPL"}
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "interrupted: wrote the answers for 1 of 3 symbols" in err


def test_a_closed_pipe_exits_141_without_a_traceback(
        config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    read, write = os.pipe()
    os.close(read)
    stdout = open(write, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert main(["history", "AAPL", *RANGE, "--json", "--config", config]) == 141
        stdout.flush()
    finally:
        stdout.close()
    assert "Traceback" not in capsys.readouterr().err


def test_help_lists_every_period_interval_and_adjustment(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["history", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for values in (PERIODS, INTERVALS, ADJUSTMENTS):
        assert ", ".join(values) in text
    for option in ("--period", "--start", "--end", "--interval", "--adjust", "--output",
                   "--json", "--bars", "--config"):
        assert option in text
    assert "Exit code 0" in text
