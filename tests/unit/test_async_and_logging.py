"""Async twins, correlation ids on every log line, and secrets kept out of logs and errors."""

from __future__ import annotations

import asyncio
import logging

import pytest

from resilient_provider import DataSource
from resilient_provider.errors import InvalidSymbolError, ProviderUnavailableError
from resilient_provider.testing import Raise, ScriptedProvider

from ..conftest import MakeFacade

DOWN = ProviderUnavailableError("connection refused")


def test_async_twins_answer_inside_a_running_event_loop(make_facade: MakeFacade) -> None:
    # B's three failed attempts must not open the breaker before C, running alongside, is asked.
    facade = make_facade(ScriptedProvider("one", {"B": DOWN}), ScriptedProvider("two"),
                         provider_defaults={"breaker": {"failure_threshold": 10}})

    async def main() -> list[str]:
        result = await facade.afetch("A")
        assert result.source is DataSource.PRIMARY
        infos = await asyncio.gather(*(facade.aget_ticker_info(s) for s in ("A", "B", "C")))
        return [i["_data_source"] for i in infos]

    assert asyncio.run(main()) == ["primary", "fallback", "primary"]


def test_async_twins_raise_for_invalid_symbols(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))
    with pytest.raises(InvalidSymbolError):
        asyncio.run(facade.aget_ticker_info("../etc"))


def test_sync_and_async_share_one_implementation(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), provider_defaults={"retry": {"max_attempts": 1}})
    sync = facade.get_ticker_info("A")
    asynchronous = asyncio.run(facade.aget_ticker_info("A"))
    assert {k: v for k, v in sync.items() if k != "_latency_ms"} == \
        {k: v for k, v in asynchronous.items() if k != "_latency_ms"}


def _cids(caplog: pytest.LogCaptureFixture) -> list[str | None]:
    return [getattr(r, "correlation_id", None) for r in caplog.records if r.name.startswith("resilient_provider")]


def test_every_log_line_of_a_request_carries_its_correlation_id(
        make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one", default=DOWN), ScriptedProvider("two", default=DOWN))
    facade.fetch("A")
    first = _cids(debug_logs)
    assert len(first) >= 4 and len(set(first)) == 1 and first[0] is not None
    run = facade.run_id
    assert all(r.getMessage().startswith(f"[run:{run} rp:{first[0]}] ") for r in debug_logs.records)
    debug_logs.clear()
    facade.fetch("A")
    second = _cids(debug_logs)
    assert len(set(second)) == 1 and second[0] != first[0]


def test_secrets_are_masked_in_errors_and_logs(make_facade: MakeFacade, debug_logs: pytest.LogCaptureFixture) -> None:
    leak = ConnectionError("GET https://bob:hunter2@example.invalid/v7?apikey=S3CR3T&crumb=abc failed")
    result = make_facade(ScriptedProvider("one", default=Raise(leak)),
                         provider_defaults={"retry": {"max_attempts": 2}}).fetch("A")
    assert result.error is not None
    text = result.error.message + repr(result.error) + "\n".join(r.getMessage() for r in debug_logs.records)
    assert "hunter2" not in text and "S3CR3T" not in text and "crumb=abc" not in text
    assert "bob:***@" in result.error.message and "apikey=***" in result.error.message


def test_library_logs_only_under_its_own_logger(make_facade: MakeFacade, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    make_facade(ScriptedProvider("one", default=DOWN)).fetch("A")
    assert caplog.records and all(r.name.startswith("resilient_provider") for r in caplog.records)
