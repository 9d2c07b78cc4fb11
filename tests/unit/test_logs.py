"""Run and correlation ids on every line, the text and JSON formats, secrets masked, and each
reliability event (retry, fall-over, breaker opening, cache failure) logged exactly once."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from resilient_provider.cache import CacheEntry, MemoryCache
from resilient_provider.cli import main
from resilient_provider.errors import ProviderUnavailableError, RateLimitError
from resilient_provider.logs import (
    JsonFormatter,
    TextFormatter,
    configure_logging,
    correlation_scope,
    current_correlation_id,
    current_run_id,
    describe_symbols,
    get_logger,
    run_scope,
)
from resilient_provider.redaction import escape_controls
from resilient_provider.testing import FakeClock, FakeYahooServer, Raise, ScriptedProvider

from ..conftest import MakeFacade, write_fake_yahoo_config

DOWN = ProviderUnavailableError("connection refused")
NO_BREAKER = {"breaker": {"failure_threshold": 100}}


def _ours(caplog: pytest.LogCaptureFixture, level: int = logging.DEBUG) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name.startswith("resilient_provider") and r.levelno >= level]


def _lines(caplog: pytest.LogCaptureFixture, text: str, level: int = logging.DEBUG) -> list[str]:
    """Messages containing ``text``, without the ``[run:… rp:…]`` prefix."""
    return [r.getMessage().split("] ", 1)[-1] for r in _ours(caplog, level)
            if text in r.getMessage()]


@pytest.fixture
def formatted() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Two streams on the root logger at DEBUG: (text, json) lines; root restored after."""
    root = logging.getLogger()
    level = root.level
    text, as_json = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(text), logging.StreamHandler(as_json)]
    handlers[0].setFormatter(TextFormatter())
    handlers[1].setFormatter(JsonFormatter())
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield text, as_json
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


# --- the ids -------------------------------------------------------------------------------


def test_scopes_set_and_restore_the_ids() -> None:
    assert current_run_id() is None and current_correlation_id() is None
    with run_scope("run1"), correlation_scope("cid1"):
        assert (current_run_id(), current_correlation_id()) == ("run1", "cid1")
        with run_scope("run2"):
            assert current_run_id() == "run2"
        assert current_run_id() == "run1"
    assert current_run_id() is None and current_correlation_id() is None


def test_every_line_of_a_facade_call_carries_the_run_id_and_a_correlation_id(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"))
    facade.fetch("AAPL")
    records = _ours(debug_logs)
    assert len(records) >= 3
    assert {getattr(r, "run_id", None) for r in records} == {facade.stats.run_id}
    cids = {getattr(r, "correlation_id", None) for r in records}
    assert len(cids) == 1 and None not in cids


def test_reset_stats_starts_a_new_run_id_on_the_lines(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"))
    facade.fetch("AAPL")
    first = facade.stats.run_id
    facade.reset_stats()
    debug_logs.clear()
    facade.fetch("AAPL")
    assert facade.stats.run_id != first
    assert {getattr(r, "run_id", None) for r in _ours(debug_logs)} == {facade.stats.run_id}


def test_the_threads_of_a_batch_keep_the_run_id_each_chunk_its_own_correlation_id(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"),
                         batch_size=2, provider_defaults={"retry": {"max_attempts": 1}})
    facade.batch_fetch([f"S{i}" for i in range(8)])
    records = _ours(debug_logs)
    assert any(str(r.threadName).startswith("rp-batch") for r in records)
    assert {getattr(r, "run_id", None) for r in records} == {facade.stats.run_id}
    fall_overs = [r for r in records if "falling over" in r.getMessage()]
    assert len(fall_overs) == 4  # one per chunk of two
    assert len({getattr(r, "correlation_id", None) for r in fall_overs}) == 4


def test_the_async_twins_keep_the_run_id(make_facade: MakeFacade,
                                         debug_logs: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"),
                         provider_defaults={"retry": {"max_attempts": 1}})

    async def main() -> None:
        await facade.afetch("AAPL")
        await facade.abatch_fetch(["MSFT", "SPY"])

    asyncio.run(main())
    records = _ours(debug_logs)
    assert {r.getMessage().split(" for ")[1].split(":")[0]
            for r in records if "falling over" in r.getMessage()} == {"AAPL", "MSFT, SPY"}
    assert {getattr(r, "run_id", None) for r in records} == {facade.stats.run_id}
    assert None not in {getattr(r, "correlation_id", None) for r in records}


# --- the formats ---------------------------------------------------------------------------


def test_text_lines_start_with_both_ids(make_facade: MakeFacade,
                                        formatted: tuple[io.StringIO, io.StringIO]) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"))
    facade.fetch("AAPL")
    text, _ = formatted
    lines = [line for line in text.getvalue().splitlines() if "resilient_provider" in line]
    assert lines
    prefix = f"[run:{facade.stats.run_id} rp:"
    assert all(prefix in line for line in lines)
    assert not any("] [rp:" in line for line in lines)  # the message's own prefix is not repeated
    assert any(" WARNING resilient_provider.strategy.guarded [run:" in line for line in lines)


def test_json_lines_parse_and_carry_the_ids(make_facade: MakeFacade,
                                            formatted: tuple[io.StringIO, io.StringIO]) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"))
    facade.fetch("AAPL")
    _, as_json = formatted
    entries = [json.loads(line) for line in as_json.getvalue().splitlines()]
    ours = [e for e in entries if e["logger"].startswith("resilient_provider")]
    assert ours
    for entry in ours:
        assert set(entry) >= {"time", "level", "logger", "message", "run_id", "correlation_id"}
        assert entry["run_id"] == facade.stats.run_id and entry["correlation_id"]
        assert entry["time"].endswith("Z") and entry["time"][10] == "T"
        assert not entry["message"].startswith("[")
    assert any(e["level"] == "INFO" and e["message"].startswith("falling over to two")
               for e in ours)


def test_json_lines_carry_the_traceback_of_a_logged_exception(
        formatted: tuple[io.StringIO, io.StringIO]) -> None:
    log = get_logger("resilient_provider.test")
    try:
        raise ValueError("bad value, token=T0K3N")
    except ValueError:
        with run_scope("r1"), correlation_scope("c1"):
            log.exception("it broke")
    _, as_json = formatted
    (entry,) = [json.loads(line) for line in as_json.getvalue().splitlines()]
    assert (entry["message"], entry["run_id"], entry["correlation_id"]) == ("it broke", "r1", "c1")
    assert "ValueError: bad value" in entry["exc_info"] and "T0K3N" not in entry["exc_info"]


def test_other_libraries_lines_get_the_ids_of_the_context_that_logs_them(
        formatted: tuple[io.StringIO, io.StringIO]) -> None:
    with run_scope("r2"), correlation_scope("c2"):
        logging.getLogger("somelib").warning("hello")
    text, as_json = formatted
    assert "WARNING somelib [run:r2 rp:c2] hello" in text.getvalue()
    entry = json.loads(as_json.getvalue())
    assert (entry["logger"], entry["run_id"], entry["correlation_id"]) == ("somelib", "r2", "c2")


def test_secrets_are_masked_in_both_formats(make_facade: MakeFacade,
                                            formatted: tuple[io.StringIO, io.StringIO]) -> None:
    leak = ConnectionError("GET https://bob:hunter2@example.invalid/v7?apikey=S3CR3T failed")
    make_facade(ScriptedProvider("one", default=Raise(leak)), ScriptedProvider("two")).fetch("A")
    logging.getLogger("somelib").warning("password=pa55word in a foreign line")
    text, as_json = formatted
    for output in (text.getvalue(), as_json.getvalue()):
        assert "apikey=***" in output and "pa55word" not in output
        assert "hunter2" not in output and "S3CR3T" not in output


# Line breaks and other characters that end, rewrite or disguise a line on a terminal or in a
# log file: each, inside a provider's exception message, tried to forge a record.
FORGERS = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\x1b[2K",
           "\u202e", "\x00"]
FORGED = "2026-01-01T00:00:00.000Z CRITICAL resilient_provider forged"


@pytest.mark.parametrize("forger", FORGERS, ids=[repr(f) for f in FORGERS])
def test_a_provider_message_cannot_forge_a_text_line(
        make_facade: MakeFacade, formatted: tuple[io.StringIO, io.StringIO], forger: str) -> None:
    attack = ConnectionError(f"Quote not found{forger}{FORGED}")
    make_facade(ScriptedProvider("one", default=Raise(attack)), ScriptedProvider("two")).fetch("A")
    text, as_json = formatted
    written = text.getvalue()
    assert "forged" in written  # the attack was logged ...
    for line in written.splitlines():  # ... each record on one line of its own
        assert not line.startswith(FORGED)
        assert line.isprintable(), repr(line)
    entries = [json.loads(line) for line in as_json.getvalue().splitlines()]
    assert all(entry["message"].isprintable() for entry in entries)


def test_other_libraries_records_and_tracebacks_are_one_text_line_each(
        formatted: tuple[io.StringIO, io.StringIO]) -> None:
    try:
        raise ValueError(f"bad\n{FORGED}")
    except ValueError:
        logging.getLogger("somelib").exception("failed for %s", f"X\u2028{FORGED}")
    text, _ = formatted
    (line,) = text.getvalue().splitlines()  # message, arguments and traceback on one line
    assert "failed for X\\u2028" in line and "Traceback (most recent call last):" in line
    assert "ValueError: bad\\n" in line


def test_json_lines_stay_one_per_record_for_any_line_separator() -> None:
    stream = io.BytesIO()
    handler = logging.StreamHandler(io.TextIOWrapper(stream, encoding="utf-8"))
    handler.setFormatter(JsonFormatter())
    message = "a\u2028b\u2029c\x85d\ud800e\nf"
    record = logging.LogRecord("somelib", logging.WARNING, __file__, 1, message, None, None)
    handler.emit(record)  # a lone surrogate made the UTF-8 stream raise: a logging error
    handler.flush()
    text = stream.getvalue().decode("utf-8")
    (line,) = text.splitlines()  # NEL, U+2028 and U+2029 would have split it
    assert json.loads(line)["message"] == message


def test_escaped_text_shows_what_it_holds() -> None:
    assert escape_controls("plain text: é, ü, 株") == "plain text: é, ü, 株"
    assert escape_controls("a\nb\tc\x1b\u2028\ud800") == "a\\nb\\tc\\x1b\\u2028\\ud800"


def test_configure_logging_replaces_its_own_handler_only() -> None:
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    try:
        first = configure_logging("INFO", stream=io.StringIO())
        second = configure_logging(logging.WARNING, fmt="json", stream=io.StringIO())
        assert first not in root.handlers and second in root.handlers
        assert [h for h in root.handlers if h is not second] == before
    finally:
        root.removeHandler(second)
        root.setLevel(level)
    with pytest.raises(ValueError):
        configure_logging(fmt="xml")  # type: ignore[arg-type]


def test_describe_symbols_names_a_few_and_counts_the_rest() -> None:
    assert describe_symbols(["AAPL"]) == "AAPL"
    assert describe_symbols(["A", "B"]) == "A, B"
    assert describe_symbols([f"S{i}" for i in range(8)]) == "S0, S1, S2, S3, S4 and 3 more"


# --- each event once -----------------------------------------------------------------------


def test_each_retry_is_one_warning_with_provider_symbol_attempt_and_cause(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    make_facade(ScriptedProvider("one", default=DOWN), provider_defaults=NO_BREAKER).fetch("AAPL")
    retries = _lines(debug_logs, "retry", logging.INFO)
    assert retries == [
        "one: retry 1 of 2 in 0.50s for AAPL: provider_unavailable (connection refused); "
        "attempt 1 of 3 failed",
        "one: retry 2 of 2 in 1.00s for AAPL: provider_unavailable (connection refused); "
        "attempt 2 of 3 failed",
    ]
    assert all(r.levelno == logging.WARNING for r in _ours(debug_logs, logging.INFO)
               if "retry" in r.getMessage())


def test_a_fall_over_is_one_info_line_with_the_previous_providers_cause(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"),
                provider_defaults=NO_BREAKER).fetch("AAPL")
    (record,) = [r for r in _ours(debug_logs) if "falling over" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert record.getMessage().endswith(
        "falling over to two for AAPL: one failed with provider_unavailable "
        "(connection refused) after 3 attempt(s)")


def test_a_fall_over_of_many_symbols_counts_the_codes(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    primary = ScriptedProvider("one", {"A": DOWN, "B": DOWN,
                                       "C": RateLimitError("429", retry_after=1)})
    make_facade(primary, ScriptedProvider("two"),
                provider_defaults={"retry": {"max_attempts": 1}}).batch_fetch(["A", "B", "C"])
    (line,) = _lines(debug_logs, "falling over")
    assert line.endswith("falling over to two for A, B, C: one failed with provider_unavailable "
                         "for 2 symbols, rate_limited after 1 attempt(s)")


def test_a_skipped_provider_is_named_as_skipped_in_the_fall_over(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"),
                         provider_defaults={"retry": {"max_attempts": 1},
                                            "breaker": {"failure_threshold": 1}})
    facade.fetch("AAPL")
    debug_logs.clear()
    facade.fetch("MSFT")
    (line,) = _lines(debug_logs, "falling over")
    assert "falling over to two for MSFT: one skipped: circuit_open (circuit open" in line


def test_the_breaker_opening_is_one_warning_with_the_count_window_symbol_and_attempt(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"))
    for symbol in ("AAPL", "MSFT", "SPY"):  # the first opens it on its 3rd attempt
        facade.fetch(symbol)
    opened = [r for r in _ours(debug_logs) if "circuit open for" in r.getMessage()]
    assert len(opened) == 1 and opened[0].levelno == logging.WARNING
    assert opened[0].getMessage().endswith(
        "one: circuit open for 30.0s: 3 failures within 60s; tripped on attempt 3 for "
        "AAPL: provider_unavailable (connection refused)")
    assert not _lines(debug_logs, "-> open")  # not a second time by the transition listener


def test_a_retry_after_that_opens_the_breaker_is_named(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    make_facade(ScriptedProvider("one", default=RateLimitError("429", retry_after=3600)),
                ScriptedProvider("two")).fetch("AAPL")
    (line,) = _lines(debug_logs, "circuit open for")
    assert "one: circuit open for 3600.0s: Retry-After 3600s is more than we wait; " \
           "tripped on attempt 1 for AAPL: rate_limited" in line


def test_concurrent_failures_log_the_breaker_opening_once(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two"),
                         batch_size=1, provider_defaults={"retry": {"max_attempts": 1}})
    facade.batch_fetch([f"S{i}" for i in range(16)])
    assert len(_lines(debug_logs, "circuit open for")) == 1


def test_half_open_and_closed_are_one_info_line_each(
        make_facade: MakeFacade, clock: FakeClock, debug_logs: pytest.LogCaptureFixture) -> None:
    primary = ScriptedProvider("one", {"AAPL": [DOWN]})
    facade = make_facade(primary, provider_defaults={
        "retry": {"max_attempts": 1},
        "breaker": {"failure_threshold": 1, "success_threshold": 1}})
    facade.fetch("AAPL")
    clock.advance(31)
    facade.fetch("MSFT")
    assert _lines(debug_logs, "circuit", logging.INFO) == [
        "one: circuit open for 30.0s: 1 failure within 60s; tripped on attempt 1 for "
        "AAPL: provider_unavailable (connection refused)",
        "one: circuit open -> half_open: open period over, letting trial calls through",
        "one: circuit half_open -> closed: trial calls succeeded",
    ]


class _BrokenWrites(MemoryCache):
    def set_many(self, entries: Mapping[str, CacheEntry]) -> None:
        raise OSError(28, "No space left on device")


class _BrokenReads(MemoryCache):
    def get_many(self, symbols: Any) -> dict[str, CacheEntry]:
        raise sqlite3.DatabaseError("database disk image is malformed")


def test_a_cache_write_failure_is_one_warning_with_symbol_provider_and_cause(
        make_facade: MakeFacade, clock: FakeClock, debug_logs: pytest.LogCaptureFixture) -> None:
    make_facade(ScriptedProvider("one"), cache=_BrokenWrites(clock=clock)).fetch("AAPL")
    (record,) = [r for r in _ours(debug_logs) if "cache" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.getMessage().endswith(
        "cache write failed for AAPL, skipped: OSError: [Errno 28] No space left on device "
        "(data from one)")


def test_a_cache_read_failure_is_one_warning_with_symbol_and_cause(
        make_facade: MakeFacade, clock: FakeClock, debug_logs: pytest.LogCaptureFixture) -> None:
    make_facade(ScriptedProvider("one", default=DOWN), cache=_BrokenReads(clock=clock),
                provider_defaults={"retry": {"max_attempts": 1}}).fetch("AAPL")
    (line,) = _lines(debug_logs, "cache read failed")
    assert "cache read failed for AAPL, skipped: DatabaseError: database disk image" in line


def test_a_failing_walk_logs_each_event_once_and_nothing_else_at_info(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    # The third failed attempt opens the breaker (threshold 3) and the walk falls over.
    make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two")).fetch("AAPL")
    kinds = []
    for message in (r.getMessage() for r in _ours(debug_logs, logging.INFO)):
        kind = next(k for k in ("retry 1", "retry 2", "circuit open for", "falling over")
                    if k in message)
        kinds.append(kind)
    assert kinds == ["retry 1", "retry 2", "circuit open for", "falling over"]


# --- the command line's --log-format -------------------------------------------------------


@pytest.fixture
def fake_yahoo_config(tmp_path: Path) -> Iterator[str]:
    """A config with yfinance refused (so the walk falls over) and yahooquery on a fake Yahoo."""
    with FakeYahooServer(seed=3) as yahoo:
        path = Path(write_fake_yahoo_config(tmp_path, yahoo.base_url))
        path.write_text(path.read_text().replace(
            f'{{name: yfinance, options: {{base_url: "{yahoo.base_url}"}}}}',
            '{name: yfinance, options: {base_url: "http://127.0.0.1:9"}}'))
        yield str(path)


def _json_lines(err: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert any(e["message"].startswith("falling over to yahooquery for SPY") for e in entries)
    return entries


def test_the_log_format_flag_writes_json_lines_with_the_ids(
        fake_yahoo_config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-vv", "--log-format", "json", "info", "SPY",
                 "--config", fake_yahoo_config]) == 0
    entries = _json_lines(capsys.readouterr().err)
    ours = [e for e in entries if e["logger"].startswith("resilient_provider")]
    assert len({e["run_id"] for e in ours}) == 1 and all(e["correlation_id"] for e in ours)


def test_the_configured_log_format_applies_without_the_flag(
        fake_yahoo_config: str, capsys: pytest.CaptureFixture[str]) -> None:
    Path(fake_yahoo_config).write_text(Path(fake_yahoo_config).read_text()
                                       + "logging: {format: json}\n")
    assert main(["-vv", "info", "SPY", "--config", fake_yahoo_config]) == 0
    _json_lines(capsys.readouterr().err)


def test_the_log_format_env_override_applies(
        fake_yahoo_config: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_LOGGING__FORMAT", "json")
    assert main(["-vv", "info", "SPY", "--config", fake_yahoo_config]) == 0
    _json_lines(capsys.readouterr().err)


def test_text_is_the_default_log_format_and_the_flag_wins_over_the_config(
        fake_yahoo_config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-vv", "info", "SPY", "--config", fake_yahoo_config]) == 0
    err = capsys.readouterr().err
    assert " INFO resilient_provider.strategy.cascade [run:" in err and not err.startswith("{")
    Path(fake_yahoo_config).write_text(Path(fake_yahoo_config).read_text()
                                       + "logging: {format: json}\n")
    assert main(["-vv", "--log-format", "text", "info", "SPY",
                 "--config", fake_yahoo_config]) == 0
    assert " INFO resilient_provider.strategy.cascade [run:" in capsys.readouterr().err


def test_the_command_line_leaves_logging_as_it_found_it(fake_yahoo_config: str) -> None:
    root, yfinance = logging.getLogger(), logging.getLogger("yfinance")
    before = list(root.handlers), root.level, yfinance.level
    for verbosity in ([], ["-vv"]):
        main([*verbosity, "info", "SPY", "--config", fake_yahoo_config])
        assert (root.handlers, root.level, yfinance.level) == before
