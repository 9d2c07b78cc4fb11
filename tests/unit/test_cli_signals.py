"""A closed pipe (`| head -1`) and Ctrl-C end the command cleanly, with their exit codes.

A closed pipe: standard output is a pipe whose reader is already gone, so the first write
fails with EPIPE, deterministically (a real `| head -1` may or may not have closed in time).
Ctrl-C: SIGINT is sent to the main thread once the batch has settled some symbols, while another
hangs at the fake Yahoo (see tests/interrupts.py).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import resilient_provider.facade as facade_module
from resilient_provider.cli import main
from resilient_provider.providers.yahoo_http import DATA_ROUTES
from resilient_provider.testing import FakeYahooServer, Fault
from tests.conftest import write_fake_yahoo_config
from tests.interrupts import InterruptAfter


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=8, hang_limit_s=120) as server:
        yield server


@pytest.fixture
def config(yahoo: FakeYahooServer, tmp_path: Path) -> str:
    path = Path(write_fake_yahoo_config(tmp_path, yahoo.base_url, timeout_s=60))
    # One symbol per chunk, and nothing that would end a hung chunk before the interrupt.
    path.write_text(path.read_text() + "batch_size: 1\ndeadline_s: 120\n")
    return str(path)


def closed_pipe() -> int:
    """The write end of a pipe whose read end is closed."""
    read, write = os.pipe()
    os.close(read)
    return write


def test_info_into_a_closed_pipe_exits_141_without_a_traceback(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    stdout = open(closed_pipe(), "w", encoding="utf-8")  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert main(["info", "AAPL", "MSFT", "--json", "--config", config]) == 141
        stdout.flush()  # standard output now goes to the null device: exit's flush is quiet
    finally:
        stdout.close()
    assert "Traceback" not in capsys.readouterr().err


def test_demo_json_into_a_closed_pipe_ends_quietly_with_141() -> None:
    write = closed_pipe()
    try:
        done = subprocess.run([sys.executable, "-m", "resilient_provider", "demo", "--json"],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                              check=False)
    finally:
        os.close(write)
    assert done.returncode == 141
    assert done.stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"


def test_ctrl_c_mid_batch_writes_what_was_fetched_and_exits_130(
    yahoo: FakeYahooServer, config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    yahoo.inject(Fault.hang(), route=DATA_ROUTES, symbols=["HANG"])
    symbols = tmp_path / "symbols.txt"
    symbols.write_text("AAPL\nHANG\nMSFT\n")
    output = tmp_path / "out.csv"
    cue = InterruptAfter(2)
    monkeypatch.setattr(facade_module, "progress_bar", cue.bar)
    started = time.monotonic()
    try:
        code = main(["batch", str(symbols), "-o", str(output), "--config", config])
    finally:
        cue.cancel()
    assert cue.sent.is_set()
    assert code == 130
    assert time.monotonic() - started < 60  # not held until the hung request's 60 s timeout
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    assert [row["symbol"] for row in rows] == ["AAPL", "MSFT"]
    assert {row["_data_source"] for row in rows} == {"primary"}
    err = capsys.readouterr().err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted: wrote the answers for 2 of 3 symbols" in err


def test_ctrl_c_outside_a_batch_exits_130_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("resilient_provider.cli.demo.walk_through", interrupted)
    assert main(["demo"]) == 130
    assert capsys.readouterr().err == "resilient-provider: interrupted\n"


def test_a_table_into_a_closed_pipe_exits_141_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    stdout = open(closed_pipe(), "w", encoding="utf-8")  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert main(["demo"]) == 141  # rich's own handling would exit 1
    finally:
        stdout.close()
    assert "Traceback" not in capsys.readouterr().err
