"""The `resilient-provider` command: the offline demo, --json, usage errors."""

from __future__ import annotations

import json

import pytest

from resilient_provider.cli import main


def test_demo_shows_every_data_source_and_the_stats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for source in ("primary", "fallback", "cache_fresh", "cache_stale", "error"):
        assert f" {source} " in out
    assert "uptime_estimate" in out and "circuit open" in out


def test_demo_json_is_parseable_and_counts_each_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["stats"]["counts"] == {"primary": 4, "fallback": 3, "cache_fresh": 3, "cache_stale": 3, "error": 1,
                                    "not_found": 0}
    assert {a["_data_source"] for a in doc["answers"]} == {"primary", "fallback", "cache_fresh", "cache_stale", "error"}


def test_the_demo_runs_the_real_adapters_over_the_fake_yahoo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_phase = {(a["phase"], a["symbol"]): a for a in doc["answers"]}
    assert by_phase[("1 both sources up", "AAPL")]["_provider"] == "yfinance"
    assert by_phase[("2 yfinance down (HTTP 503)", "AAPL")]["_provider"] == "yahooquery"
    # The same generated data whichever library served it (both fake Yahoos share a seed).
    assert (by_phase[("1 both sources up", "AAPL")]["regularMarketPrice"]
            == by_phase[("2 yfinance down (HTTP 503)", "AAPL")]["regularMarketPrice"])
    # Yahoo throttling the IP cools the shared upstream: the cache answers, no fall-over.
    assert by_phase[("3 Yahoo throttles this IP", "AAPL")]["_data_source"] == "cache_fresh"
    assert by_phase[("6 outage over", "AAPL")]["_data_source"] == "primary"
    providers = doc["stats"]["providers"]
    assert set(providers["yfinance"]["failures"]) == {"server_error"}
    assert providers["yahooquery"]["failures"]["upstream_cooling"] >= 1
    assert providers["yahooquery"]["breaker"]["trips"] == 0  # 429s cool, they do not trip


def test_no_command_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: resilient-provider" in capsys.readouterr().err


def test_unknown_command_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
