"""A cache that fails to read or write is logged and skipped, never turning data into an error."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from resilient_provider import DataSource
from resilient_provider.cache import CacheEntry, MemoryCache
from resilient_provider.errors import ProviderUnavailableError
from resilient_provider.testing import FakeClock, ScriptedProvider

from ..conftest import MakeFacade


class BrokenCache(MemoryCache):
    """A backend whose reads and/or writes fail like a damaged database."""

    def __init__(self, *, reads: bool, writes: bool, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.reads, self.writes = reads, writes

    def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        if self.reads:
            raise sqlite3.DatabaseError("database disk image is malformed")
        return super().get_many(symbols)

    def set_many(self, entries: Mapping[str, CacheEntry]) -> None:
        if self.writes:
            raise OSError(28, "No space left on device")
        super().set_many(entries)

    def set(self, symbol: str, data: Mapping[str, Any], *, fetched_at: float, provider: str) -> None:
        if self.writes:
            raise OSError(28, "No space left on device")
        super().set(symbol, data, fetched_at=fetched_at, provider=provider)


def test_a_failing_cache_write_does_not_turn_a_success_into_an_error(
        make_facade: MakeFacade, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one"), cache=BrokenCache(reads=False, writes=True, clock=clock))
    result = facade.fetch("AAPL")
    assert result.source is DataSource.PRIMARY and result.success
    assert facade.get_reliability_stats()["cache_errors"] == {"set": 1}
    assert any("cache write failed for AAPL, skipped: OSError" in r.getMessage() for r in caplog.records)


def test_a_failing_cache_read_is_skipped_with_an_honest_error(
        make_facade: MakeFacade, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    facade = make_facade(ScriptedProvider("one", default=ProviderUnavailableError("down")),
                         cache=BrokenCache(reads=True, writes=False, clock=clock),
                         provider_defaults={"retry": {"max_attempts": 1}})
    result = facade.fetch("AAPL")
    assert result.error is not None
    assert result.source is DataSource.ERROR and result.error.code == "provider_unavailable"
    assert facade.get_reliability_stats()["cache_errors"] == {"get": 1}
    assert any("cache read failed for AAPL, skipped: DatabaseError" in r.getMessage() for r in caplog.records)


def test_a_failing_read_through_still_reaches_the_providers(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one")
    facade = make_facade(primary, cache=BrokenCache(reads=True, writes=True, clock=clock),
                         cache_settings={"read_through": True})
    assert facade.fetch("AAPL").source is DataSource.PRIMARY and primary.call_count == 1
