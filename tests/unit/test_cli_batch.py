"""`resilient-provider batch FILE`: reading symbol files, CSV/JSON/Parquet output, exit codes."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from resilient_provider.cli import main
from resilient_provider.cli.symbols_file import SymbolsFileError, read_symbols
from resilient_provider.providers.canonical import CORE_FIELDS
from resilient_provider.testing import FakeYahooServer
from tests.conftest import write_fake_yahoo_config


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=8, unknown_symbols=("NOSUCH",)) as server:
        server.bodies.set_price("AAPL", 201.5)  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def config(yahoo: FakeYahooServer, tmp_path: Path) -> str:
    return write_fake_yahoo_config(tmp_path, yahoo.base_url)


def symbols_file(tmp_path: Path, text: str, name: str = "symbols.txt") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_batch_writes_one_csv_row_per_distinct_symbol(config: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    file = symbols_file(tmp_path, "# my portfolio\nAAPL\n\nmsft\nAAPL\nQQQ\n")
    assert main(["batch", file, "--config", config]) == 0
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert [r["symbol"] for r in rows] == ["AAPL", "MSFT", "QQQ"]
    assert list(rows[0])[:len(CORE_FIELDS)] == list(CORE_FIELDS)
    assert rows[0]["regularMarketPrice"] == "201.5" and rows[0]["_data_source"] == "primary"
    assert "3 symbols" in captured.err and "3 primary" in captured.err


def test_batch_exits_1_when_any_symbol_got_no_data(config: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    file = symbols_file(tmp_path, "AAPL\nNOSUCH\nnot/a/symbol\n")
    assert main(["batch", file, "--format", "json", "--config", config]) == 1
    answers = json.loads(capsys.readouterr().out)
    assert [a["_data_source"] for a in answers] == ["primary", "error", "error"]
    assert [a.get("_error_code") for a in answers[1:]] == ["symbol_not_found", "invalid_symbol"]


def test_batch_reads_the_symbol_column_of_a_csv_file(config: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    file = symbols_file(tmp_path, "Name,Ticker,Weight\nApple,AAPL,0.6\nInvesco,QQQ,0.4\n",
                        name="portfolio.csv")
    output = tmp_path / "out.json"
    assert main(["batch", file, "-o", str(output), "--config", config]) == 0
    assert capsys.readouterr().out == ""
    assert [a["symbol"] for a in json.loads(output.read_text())] == ["AAPL", "QQQ"]


def test_batch_writes_parquet_to_a_file(config: str, tmp_path: Path) -> None:
    file = symbols_file(tmp_path, "AAPL\nMSFT\n")
    output = tmp_path / "out.parquet"
    assert main(["batch", file, "--output", str(output), "--config", config]) == 0
    frame = pd.read_parquet(output)
    assert list(frame["symbol"]) == ["AAPL", "MSFT"]
    assert frame.loc[0, "regularMarketPrice"] == 201.5
    assert set(frame["_data_source"]) == {"primary"}


def test_parquet_needs_an_output_file(config: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    file = symbols_file(tmp_path, "AAPL\n")
    assert main(["batch", file, "--format", "parquet", "--config", config]) == 2
    assert "--output" in capsys.readouterr().err


def test_batch_reads_standard_input(config: str, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("AAPL\n"))
    assert main(["batch", "-", "--config", config]) == 0
    assert "AAPL" in capsys.readouterr().out


@pytest.mark.parametrize(("content", "message"), [
    (None, "not found"),
    ("# nothing but a comment\n\n", "no symbols"),
    (b"\xff\xfe\x00A", "not UTF-8"),
])
def test_bad_symbol_files_exit_2_naming_the_file(config: str, tmp_path: Path,
                                                 content: str | bytes | None, message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "symbols.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert main(["batch", str(path), "--config", config]) == 2
    err = capsys.readouterr().err
    assert message in err and "symbols.txt" in err


def test_batch_exits_2_on_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_concurrent_requests: 0\n")
    assert main(["batch", symbols_file(tmp_path, "AAPL\n"), "--config", str(bad)]) == 2
    assert "max_concurrent_requests" in capsys.readouterr().err


def test_an_unwritable_output_exits_2_before_fetching(
        config: str, yahoo: FakeYahooServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    file = symbols_file(tmp_path, "AAPL\n")
    assert main(["batch", file, "-o", str(tmp_path / "missing" / "out.csv"),
                 "--config", config]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert yahoo.count() == 0


def test_parquet_without_pyarrow_exits_2_before_fetching(
        config: str, yahoo: FakeYahooServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyarrow" else real_find_spec(name, *a))
    file = symbols_file(tmp_path, "AAPL\n")
    assert main(["batch", file, "-o", str(tmp_path / "out.parquet"), "--config", config]) == 2
    assert "resilient-provider[parquet]" in capsys.readouterr().err
    assert yahoo.count() == 0 and not (tmp_path / "out.parquet").exists()


def test_batch_help_explains_the_file_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "FILE" in out and "parquet" in out and "Exit code 0" in out


def test_a_csv_without_a_symbol_header_uses_its_first_column(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("AAPL,10\nMSFT,5\n")
    assert read_symbols(path) == ["AAPL", "MSFT"]


def test_text_lines_are_stripped_but_not_validated(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("  aapl  \n../x\n")
    assert read_symbols(path) == ["aapl", "../x"]


def test_an_empty_csv_column_is_no_symbols(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("symbol,weight\n,1\n")
    with pytest.raises(SymbolsFileError, match="no symbols"):
        read_symbols(path)


@pytest.mark.parametrize("name", ["out.xlsx", "out.txt"])
def test_an_unknown_output_extension_exits_2_listing_the_allowed_ones(
    name: str, config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    file = symbols_file(tmp_path, "AAPL\n")
    output = tmp_path / name
    assert main(["batch", file, "-o", str(output), "--config", config]) == 2
    err = capsys.readouterr().err
    assert str(output) in err and ".csv, .json, .parquet" in err and "--format" in err
    assert not output.exists()


def test_an_explicit_format_writes_whatever_the_extension(config: str, tmp_path: Path) -> None:
    file = symbols_file(tmp_path, "AAPL\n")
    output = tmp_path / "out.txt"
    assert main(["batch", file, "-o", str(output), "--format", "json", "--config", config]) == 0
    assert json.loads(output.read_text())[0]["symbol"] == "AAPL"


def test_a_semicolon_separated_portfolio_is_read_by_its_ticker_column(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # A spreadsheet export in a decimal-comma locale: ';' between fields, ',' in numbers.
    file = symbols_file(tmp_path, "Name;Ticker;Weight\nApple;AAPL;0,6\nInvesco;QQQ;0,4\n",
                        name="portfolio.csv")
    assert main(["batch", file, "--format", "json", "--config", config]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert [(a["symbol"], a["_data_source"]) for a in answers] == [
        ("AAPL", "primary"), ("QQQ", "primary")]


@pytest.mark.parametrize(("text", "expected"), [
    ("symbol\tweight\nAAPL\t1\nMSFT\t2\n", ["AAPL", "MSFT"]),
    ("ticker|weight\nAAPL|1\n", ["AAPL"]),
    ('name,ticker\n"Apple, Inc.",AAPL\n"Berkshire; class B",BRK-B\n', ["AAPL", "BRK-B"]),
    ("Ticker;Weight\nAAPL;0.5\nMSFT;0.5\n", ["AAPL", "MSFT"]),
])
def test_the_csv_delimiter_is_sniffed(text: str, expected: list[str]) -> None:
    assert read_symbols(io.StringIO(text)) == expected


def test_the_summary_says_1_symbol_not_1_symbols(config: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", symbols_file(tmp_path, "AAPL\n"), "--config", config]) == 0
    err = capsys.readouterr().err
    assert err.startswith("1 symbol in ") and "symbols" not in err
