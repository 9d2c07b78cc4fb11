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
    assert doc["stats"]["counts"] == {"primary": 4, "fallback": 3, "cache_fresh": 3, "cache_stale": 3, "error": 1}
    assert {a["_data_source"] for a in doc["answers"]} == {"primary", "fallback", "cache_fresh", "cache_stale", "error"}


def test_no_command_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: resilient-provider" in capsys.readouterr().err


def test_unknown_command_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
