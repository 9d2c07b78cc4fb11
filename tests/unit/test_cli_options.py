"""Global options anywhere: `info AAPL -v` is `-v info AAPL`; shared options before the command."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from resilient_provider.cli import main
from resilient_provider.cli.common import add_config_option
from resilient_provider.cli.main import build_parser
from resilient_provider.cli.parser import CommandParser, add_global_options
from resilient_provider.testing import FakeYahooServer
from tests.conftest import write_fake_yahoo_config


@pytest.fixture
def config(tmp_path: Path) -> Iterator[str]:
    with FakeYahooServer(seed=8) as yahoo:
        yield write_fake_yahoo_config(tmp_path, yahoo.base_url)


@pytest.mark.parametrize("argv", [
    ["info", "AAPL", "-v"], ["-v", "info", "AAPL"], ["info", "-v", "AAPL"],
])
def test_verbose_is_accepted_before_or_after_the_command(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).verbose == 1


def test_verbose_counts_add_up_across_positions() -> None:
    args = build_parser().parse_args(["-v", "stats", "-v", "--json"])
    assert args.verbose == 2 and args.json is True


def test_log_format_after_the_command_wins() -> None:
    assert build_parser().parse_args(["health", "--log-format", "json"]).log_format == "json"
    assert build_parser().parse_args(
        ["--log-format", "text", "health", "--log-format", "json"]).log_format == "json"
    assert build_parser().parse_args(["--log-format", "json", "demo"]).log_format == "json"


def test_info_logs_json_lines_with_vv_after_the_symbols(
    config: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["info", "AAPL", "--config", config, "-vv", "--log-format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert lines and all("message" in line for line in lines)


def test_shared_options_may_stand_before_the_command(
    config: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--json", "--config", config, "info", "AAPL"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["symbol"] == "AAPL"


def test_the_commands_own_config_wins_over_one_before_it(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--config", "before.yaml", "info", "A",
                                      "--config", "after.yaml"])
    assert args.config == "after.yaml"
    assert build_parser().parse_args(["--config", "x.yaml", "info", "A"]).config == "x.yaml"


@pytest.mark.parametrize(("argv", "option", "command"), [
    (["--json", "batch", "file.txt"], "--json", "batch"),
    (["--config", "x.yaml", "demo"], "--config", "demo"),
])
def test_a_shared_option_the_command_lacks_is_a_usage_error(
    argv: list[str], option: str, command: str, capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert f"{option} does not apply to {command}" in capsys.readouterr().err


def test_the_config_env_variable_applies_when_no_config_was_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: str,
) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_CONFIG", config)
    assert main(["-v", "info", "AAPL", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["_provider"] == "yfinance"


def test_nested_sub_commands_take_the_global_options_too() -> None:
    # A command group like `cache ls` (one module, sub-sub-commands) needs nothing special.
    parser = argparse.ArgumentParser(prog="rp")
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", parser_class=CommandParser)
    group = commands.add_parser("cache").add_subparsers(dest="action")
    listing = group.add_parser("ls")
    add_config_option(listing)
    listing.add_argument("--json", action="store_true")
    args = parser.parse_args(["-v", "cache", "-v", "ls", "--json", "-v"])
    assert (args.verbose, args.json, args.action) == (3, True, "ls")
    args = parser.parse_args(["--config", "c.yaml", "--json", "cache", "ls"])
    assert (args.config, args.json) == ("c.yaml", True)


def test_the_real_cache_command_takes_global_options_after_its_action() -> None:
    args = build_parser().parse_args(["--config", "c.yaml", "cache", "ls", "-v", "--json"])
    assert (args.cache_command, args.config, args.verbose, args.json) == ("ls", "c.yaml", 1, True)
    assert build_parser().parse_args(["--offline", "info", "AAPL"]).offline is True
