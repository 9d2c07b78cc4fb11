"""`resilient-provider info`: table, JSON and CSV over the real adapters, and the exit codes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from resilient_provider.cli import main
from resilient_provider.providers.canonical import CORE_FIELDS
from resilient_provider.testing import FakeYahooServer, Fault
from tests.conftest import write_fake_yahoo_config


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=8, unknown_symbols=("NOSUCH",)) as server:
        server.bodies.set_price("AAPL", 201.5)  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def config(yahoo: FakeYahooServer, tmp_path: Path) -> str:
    return write_fake_yahoo_config(tmp_path, yahoo.base_url)


def test_info_prints_a_table_of_core_fields_and_tags(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", "aapl", "MSFT", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "AAPL" in out and "MSFT" in out and "201.50" in out
    for row in ("regularMarketPrice", "dividendYield", "sector", "data_source", "provider",
                "is_stale", "age_s", "latency_ms"):
        assert row in out
    assert out.count("primary") == 2 and "yfinance" in out


def test_info_json_is_the_tagged_answers(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "AAPL", "--json", "--config", config]) == 0
    (answer,) = json.loads(capsys.readouterr().out)
    assert answer["symbol"] == "AAPL" and answer["regularMarketPrice"] == 201.5
    assert answer["_data_source"] == "primary" and answer["_provider"] == "yfinance"
    assert answer["_is_stale"] is False and answer["_latency_ms"] >= 0


def test_info_csv_has_one_row_per_symbol(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "AAPL", "QQQ", "--csv", "--config", config]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["symbol"] for r in rows] == ["AAPL", "QQQ"]
    assert list(rows[0])[: len(CORE_FIELDS)] == list(CORE_FIELDS)
    assert rows[0]["_data_source"] == "primary" and rows[1]["quoteType"] == "ETF"


def test_info_exits_1_when_any_symbol_got_no_data(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", "AAPL", "NOSUCH", "--json", "--config", config]) == 1
    answers = {a["symbol"]: a for a in json.loads(capsys.readouterr().out)}
    assert answers["AAPL"]["_data_source"] == "primary"
    assert answers["NOSUCH"]["_error_code"] == "symbol_not_found"


def test_info_shows_the_fallback_when_the_primary_fails(
    yahoo: FakeYahooServer, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both libraries talk to one fake Yahoo here; yfinance asks v7 on query1, so failing the v7
    # route fails yfinance alone (yahooquery's answer still stands on quoteSummary).
    yahoo.inject(Fault.server_error(503), route="quote")
    assert main(["info", "AAPL", "--json", "--config", config]) == 0
    (answer,) = json.loads(capsys.readouterr().out)
    assert (answer["_data_source"], answer["_provider"]) == ("fallback", "yahooquery")


def test_a_bad_symbol_exits_2_naming_it(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "AAPL", "BAD/../X", "--config", config]) == 2
    assert "BAD/../X" in capsys.readouterr().err


def test_a_bad_config_exits_2_naming_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("deadline_s: -3\n")
    assert main(["info", "AAPL", "--config", str(path)]) == 2
    assert "deadline_s" in capsys.readouterr().err


def test_the_config_can_come_from_the_environment(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_CONFIG", config)
    assert main(["info", "AAPL", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["_provider"] == "yfinance"


def test_json_and_csv_together_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["info", "AAPL", "--json", "--csv"])
    assert exit_info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_info_refresh_asks_yahoo_for_a_symbol_it_confirmed_unknown(
    yahoo: FakeYahooServer, tmp_path: Path
) -> None:
    config = write_fake_yahoo_config(tmp_path, yahoo.base_url)
    text = Path(config).read_text()  # a disk cache: what one run learns, the next one knows
    Path(config).write_text(text.replace("cache: {backend: memory}",
                                         f'cache: {{backend: disk, path: "{tmp_path / "cache"}"}}'))
    assert main(["info", "NOSUCH", "--config", config]) == 1
    asked = yahoo.count(route="quoteSummary", symbol="NOSUCH")
    assert asked > 0
    assert main(["info", "NOSUCH", "--config", config]) == 1
    assert yahoo.count(route="quoteSummary", symbol="NOSUCH") == asked
    assert main(["info", "NOSUCH", "--refresh", "--config", config]) == 1
    assert yahoo.count(route="quoteSummary", symbol="NOSUCH") > asked
