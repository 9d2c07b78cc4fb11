"""`resilient-provider health` over the real yfinance and yahooquery adapters and fake Yahoos:
exit 0 with both up, 1 with one down (refused port, injected fault, hang), 2 on bad config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from resilient_provider.cli import main
from resilient_provider.testing import FakeYahooServer, Fault
from tests.conftest import write_fake_yahoo_config

REFUSED = "http://127.0.0.1:9"  # the discard port: nothing listens there, connections are refused


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=5) as server:
        server.bodies.set_price("SPY", 512.25)  # type: ignore[attr-defined]
        yield server


def config_for(tmp_path: Path, yfinance_url: str, yahooquery_url: str, extra: str = "") -> str:
    """The fake-Yahoo config with each adapter at its own URL, plus ``extra`` YAML."""
    path = Path(write_fake_yahoo_config(tmp_path, yfinance_url))
    text = path.read_text().replace(
        f'{{name: yahooquery, options: {{base_url: "{yfinance_url}"}}}}',
        f'{{name: yahooquery, options: {{base_url: "{yahooquery_url}"}}}}')
    path.write_text(text + extra)
    return str(path)


def health_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["health", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def statuses(doc: dict[str, object]) -> dict[str, tuple[str, str | None]]:
    checks = doc["checks"]
    assert isinstance(checks, list)
    return {c["name"]: (c["status"], c["error_code"]) for c in checks}


def test_both_providers_and_the_cache_up_exit_0(
        yahoo: FakeYahooServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, yahoo.base_url, yahoo.base_url)
    assert main(["health", "--config", config]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["yfinance"][1:3] == ["provider", "up"]
    assert rows["yahooquery"][1:3] == ["provider", "up"]
    assert rows["cache"][1:3] == ["cache", "up"]
    assert "SPY 512.25 USD" in out and "overall: up" in out
    assert yahoo.count(route="quoteSummary", symbol="SPY") >= 2  # one probe per library


def test_json_output_parses_with_an_overall_status(
        yahoo: FakeYahooServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = health_json(capsys, "--config", config_for(tmp_path, yahoo.base_url,
                                                            yahoo.base_url))
    assert code == 0 and doc["status"] == "up" and doc["probe_symbol"] == "SPY"
    assert statuses(doc) == {"yfinance": ("up", None), "yahooquery": ("up", None),
                             "cache": ("up", None)}


def test_one_provider_refused_exits_1(
        yahoo: FakeYahooServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = health_json(capsys, "--config", config_for(tmp_path, yahoo.base_url, REFUSED))
    assert code == 1 and doc["status"] == "down"
    assert statuses(doc) == {"yfinance": ("up", None), "yahooquery": ("down", "network_error"),
                             "cache": ("up", None)}


def test_a_rate_limited_provider_exits_1_with_its_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeYahooServer(seed=5) as yahoo_yf, FakeYahooServer(seed=5) as yahoo_yq:
        yahoo_yf.inject(Fault.rate_limited(retry_after_s=60), route=("quoteSummary", "quote"))
        code, doc = health_json(capsys, "--config",
                                config_for(tmp_path, yahoo_yf.base_url, yahoo_yq.base_url))
    assert code == 1
    assert statuses(doc)["yfinance"] == ("down", "rate_limited")
    assert statuses(doc)["yahooquery"] == ("up", None)


def test_a_hung_provider_times_out_and_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeYahooServer(seed=5) as yahoo_yf, FakeYahooServer(seed=5) as yahoo_yq:
        yahoo_yq.inject(Fault.hang(), route=("quoteSummary", "quote"))
        config = config_for(tmp_path, yahoo_yf.base_url, yahoo_yq.base_url,
                            "health: {timeout_s: 0.5}\n")
        code, doc = health_json(capsys, "--config", config)
    assert code == 1
    assert statuses(doc)["yahooquery"] == ("down", "timeout")
    assert statuses(doc)["yfinance"] == ("up", None)


def test_a_bad_setting_exits_2_naming_it(
        yahoo: FakeYahooServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, yahoo.base_url, yahoo.base_url, "health: {timeout_s: 0}\n")
    assert main(["health", "--config", config]) == 2
    captured = capsys.readouterr()
    assert "health.timeout_s" in captured.err and captured.out == ""


def test_an_unknown_provider_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("providers: [yfinance, no-such-provider]\ncache: {backend: memory}\n")
    assert main(["health", "--config", str(config)]) == 2
    assert "no-such-provider" in capsys.readouterr().err


def test_a_bad_env_override_exits_2(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_HEALTH__PROBE_SYMBOL", "../etc")
    assert main(["health"]) == 2
    assert "health.probe_symbol" in capsys.readouterr().err
