"""`resilient-provider cache ls|show|export|prune|clear` and `--offline` on info and batch."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from resilient_provider.cache import CacheEntry, DiskCache, NotFoundEntry
from resilient_provider.cli import main
from resilient_provider.testing import FakeYahooServer, Fault, make_info

DAY = 86400.0


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=8) as server:
        yield server


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A disk cache holding AAPL (fresh), MSFT (3 days old: stale) and DEAD (confirmed
    unknown an hour ago)."""
    directory = tmp_path / "cache"
    cache = DiskCache(directory)
    now = time.time()
    cache.set_many({"AAPL": CacheEntry(make_info("AAPL", price=201.5), now - 60, "yfinance"),
                    "MSFT": CacheEntry(make_info("MSFT"), now - 3 * DAY, "yahooquery")})
    cache.set_not_found([NotFoundEntry("DEAD", now - 3600, "yfinance")], keep_s=DAY)
    cache.close()
    return directory


@pytest.fixture
def config(tmp_path: Path, cache_dir: Path, yahoo: FakeYahooServer) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"""
providers:
  - {{name: yfinance, options: {{base_url: "{yahoo.base_url}"}}}}
provider_defaults: {{timeout_s: 2, retry: {{max_attempts: 3}}}}
upstreams: {{yahoo: {{enabled: false}}}}
cache: {{path: "{cache_dir}"}}
stats: {{enabled: false}}
""")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_ls_lists_every_symbol_sorted_with_status_age_provider_and_fetched_at(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cache", "ls", "--config", config)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["symbol", "status", "age", "provider", "fetched", "at"]
    assert [line.split()[:2] for line in lines[1:4]] == [
        ["AAPL", "fresh"], ["DEAD", "not_found"], ["MSFT", "stale"]]
    assert "3.0d" in lines[3] and "yahooquery" in lines[3] and "+00:00" in lines[3]
    assert "2 entries (1 fresh, 1 stale), 1 symbol confirmed unknown" in out


def test_ls_json_lists_the_rows_without_their_data(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cache", "ls", "--json", "--config", config)
    rows = json.loads(out)
    assert code == 0 and [(r["symbol"], r["kind"], r["status"]) for r in rows] == [
        ("AAPL", "entry", "fresh"), ("DEAD", "not_found", "not_found"),
        ("MSFT", "entry", "stale")]
    assert "data" not in rows[0] and rows[2]["age_s"] >= 3 * DAY


def test_ls_of_an_empty_cache_says_so_and_exits_0(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(f"cache: {{path: '{tmp_path / 'nothing'}'}}\n")
    code, out, _ = run(capsys, "cache", "ls", "--config", str(path))
    assert code == 0 and out.startswith("0 entries in ")


def test_show_prints_the_data_and_where_it_came_from(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cache", "show", "aapl", "--config", config)
    assert code == 0
    assert "201.50" in out and "cache_fresh" in out and "yfinance" in out
    assert "status: fresh" in out


def test_show_json_has_data_and_metadata(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cache", "show", "MSFT", "--json", "--config", config)
    shown = json.loads(out)
    assert code == 0 and shown["status"] == "stale" and shown["provider"] == "yahooquery"
    assert shown["data"]["symbol"] == "MSFT"


def test_show_of_a_symbol_not_cached_exits_1(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cache", "show", "NVDA", "--config", config)
    assert code == 1 and "NVDA is not cached" in err


def test_show_validates_the_symbol_first_and_exits_2(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cache", "show", "AAPL/../x", "--config", config)
    assert code == 2 and "invalid symbol 'AAPL/../x'" in err


@pytest.mark.parametrize("suffix", ["jsonl", "json", "csv"])
def test_export_writes_every_row_in_the_format_of_the_extension(
        config: str, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / f"out.{suffix}"
    code, _, err = run(capsys, "cache", "export", "-o", str(target), "--config", config)
    assert code == 0 and "exported 3 rows" in err
    text = target.read_text()
    if suffix == "jsonl":
        symbols = [json.loads(line)["symbol"] for line in text.splitlines()]
    elif suffix == "json":
        symbols = [row["symbol"] for row in json.loads(text)]
    else:
        symbols = [row["symbol"] for row in csv.DictReader(io.StringIO(text))]
    assert symbols == ["AAPL", "DEAD", "MSFT"]


def test_export_to_standard_output_is_json_lines(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cache", "export", "--config", config)
    assert code == 0 and [json.loads(line)["symbol"] for line in out.splitlines()] == [
        "AAPL", "DEAD", "MSFT"]


def test_export_refuses_another_extension_listing_the_allowed_ones(
        config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cache", "export", "-o", str(tmp_path / "out.xlsx"), "--config",
                       config)
    assert code == 2 and ".xlsx" in err and ".jsonl, .json, .csv" in err
    assert not (tmp_path / "out.xlsx").exists()


def test_prune_removes_rows_older_than_the_age_given_and_says_how_many(
        config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cache", "prune", "--older-than", "1d", "--json", "--config", config)
    assert code == 0 and json.loads(out) == {"removed": 1, "older_than_s": DAY}
    _, out, _ = run(capsys, "cache", "ls", "--json", "--config", config)
    assert [r["symbol"] for r in json.loads(out)] == ["AAPL", "DEAD"]


def test_prune_defaults_to_max_stale_age(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cache", "prune", "--config", config)
    assert code == 0 and out.startswith("removed 0 rows older than 7.0d")


def test_prune_refuses_a_bad_age_naming_it(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cache", "prune", "--older-than", "soon", "--config", config)
    assert code == 2 and "soon" in err


def test_clear_asks_first_and_keeps_everything_when_not_confirmed(
        config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = run(capsys, "cache", "clear", "--config", config)
    assert code == 1 and "[y/N]" in err and "nothing cleared" in err
    _, out, _ = run(capsys, "cache", "ls", "--json", "--config", config)
    assert len(json.loads(out)) == 3


def test_clear_with_confirmation_or_yes_removes_everything_and_counts_it(
        config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, _ = run(capsys, "cache", "clear", "--json", "--config", config)
    assert code == 0 and json.loads(out) == {"entries": 2, "not_found": 1, "histories": 0}
    code, out, _ = run(capsys, "cache", "clear", "--yes", "--config", config)
    assert code == 0 and out.startswith(
        "cleared 0 entries, 0 negative-cache rows and 0 price histories")


def test_a_bad_configuration_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("cache: {fresh_for: never}\n")
    code, _, err = run(capsys, "cache", "ls", "--config", str(path))
    assert code == 2 and "fresh_for" in err


def test_info_offline_answers_from_the_cache_without_asking_yahoo(
        config: str, yahoo: FakeYahooServer, capsys: pytest.CaptureFixture[str]) -> None:
    yahoo.inject(Fault.server_error(503))
    code, out, _ = run(capsys, "info", "AAPL", "MSFT", "NVDA", "--offline", "--json",
                       "--config", config)
    answers = {a["symbol"]: a for a in json.loads(out)}
    assert code == 1
    assert answers["AAPL"]["_data_source"] == "cache_fresh"
    assert answers["MSFT"]["_data_source"] == "cache_stale" and answers["MSFT"]["_is_stale"]
    assert answers["NVDA"]["_error_code"] == "offline_no_cache"
    assert yahoo.count() == 0


def test_batch_offline_answers_from_the_cache_without_asking_yahoo(
        config: str, yahoo: FakeYahooServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    symbols = tmp_path / "symbols.txt"
    symbols.write_text("AAPL\nMSFT\n")
    code, out, _ = run(capsys, "batch", str(symbols), "--offline", "--format", "json",
                       "--config", config)
    assert code == 0 and [a["_data_source"] for a in json.loads(out)] == ["cache_fresh",
                                                                          "cache_stale"]
    assert yahoo.count() == 0
