"""The README's code examples run as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from resilient_provider import ResilientProvider
from resilient_provider.testing import FakeYahooServer
from tests.conftest import fast_settings, write_fake_yahoo_config

README = Path(__file__).resolve().parents[2] / "README.md"


def python_block_after(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(heading):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {heading!r}"
    return textwrap.dedent(match.group(1))


def test_the_example_provider_works_in_the_chain(tmp_path: Path) -> None:
    namespace: dict[str, Any] = {}
    exec(python_block_after("### Writing a provider"), namespace)
    quotes = tmp_path / "quotes.csv"
    quotes.write_text("symbol,price,currency\naapl,187.5,USD\n")
    provider = namespace["CsvQuotesProvider"](path=str(quotes))
    with ResilientProvider([provider], settings=fast_settings()) as facade:
        found = facade.get_ticker_info("AAPL")
        missing = facade.get_ticker_info("MSFT")
    assert (found["regularMarketPrice"], found["_provider"]) == (187.5, "csv-quotes")
    assert missing["_error_code"] == "symbol_not_found"
    broken = namespace["CsvQuotesProvider"](path=str(tmp_path / "absent.csv"))
    assert broken.fetch_info(["AAPL"])["AAPL"].code == "network_error"


def test_the_outage_testing_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    exec(python_block_after("### Testing against outages"), {})
    assert capsys.readouterr().out.strip() == "fallback"


def run_against_fake_yahoo(heading: str, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> FakeYahooServer:
    """Run the python block after ``heading`` in ``tmp_path``, whose config.yaml sends both
    adapters to a fake Yahoo; returns that (stopped) server for its request counts."""
    with FakeYahooServer(seed=4) as yahoo:
        write_fake_yahoo_config(tmp_path, yahoo.base_url, timeout_s=5)
        monkeypatch.chdir(tmp_path)
        exec(python_block_after(heading), {})
    return yahoo


def test_the_batch_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    yahoo = run_against_fake_yahoo("### Portfolios: batches", tmp_path, monkeypatch)
    quote_lookups = yahoo.count(symbol="AAPL", route="quote")
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[2:8]}
    assert list(rows) == ["AAPL", "msft", "BRK-B", "aapl", "SPY", "not"]
    assert rows["aapl"][2] == rows["AAPL"][2] == "primary"
    assert rows["not"][-1] == "invalid_symbol"
    assert "'primary'" in lines[-1]
    assert quote_lookups == 2  # AAPL and aapl fetched once per batch call


def test_the_statistics_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    run_against_fake_yahoo("### Statistics after the run", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "yfinance" in out and "p95_ms" in out and "success_rate" in out
    assert out.splitlines()[0].split()[0] == "0.0"  # no fallback: every symbol from yfinance


def test_the_health_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    run_against_fake_yahoo("### Health checks", tmp_path, monkeypatch)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "up"
    assert [line.split()[:2] for line in lines[1:]] == [
        ["yfinance", "up"], ["yahooquery", "up"], ["cache", "up"]]


def block_after(heading: str, language: str) -> str:
    text = README.read_text()
    match = re.search(rf"```{language}\n(.*?)```", text[text.index(heading):], re.S)
    assert match, f"no {language} block after {heading!r}"
    return textwrap.dedent(match.group(1))


README_FAKE_URL = "http://127.0.0.1:8765"


def test_the_offline_code_example_reads_the_fake_yahoo(capsys: pytest.CaptureFixture[str]) -> None:
    code = block_after("#### Try it offline", "python")
    assert README_FAKE_URL in code
    with FakeYahooServer(seed=4) as yahoo:
        exec(code.replace(README_FAKE_URL, yahoo.base_url), {})
    assert float(capsys.readouterr().out) > 0
    assert yahoo.count(route="quoteSummary", symbol="AAPL", status=200) == 1


def test_the_offline_config_example_sends_both_adapters_to_the_fake(tmp_path: Path) -> None:
    from resilient_provider import Settings

    config = tmp_path / "config.yaml"
    config.write_text(block_after("#### Try it offline", "yaml"))
    settings = Settings.from_yaml(config)
    assert [(p.name, p.options) for p in settings.providers] == [
        ("yfinance", {"base_url": README_FAKE_URL}), ("yahooquery", {"base_url": README_FAKE_URL})]
