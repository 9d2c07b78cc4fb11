"""Cache reads are checked against the data contract: a failing entry is treated as absent."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from resilient_provider import DataSource
from resilient_provider.cache import MemoryCache
from resilient_provider.errors import ProviderUnavailableError
from resilient_provider.testing import FakeClock, ScriptedProvider, make_info

from ...conftest import MakeFacade

DAY_S = 86400.0


def served_from_cache_when_the_provider_is_down(make_facade: MakeFacade, clock: FakeClock,
                                                data: dict[str, Any], fetched_at: float,
                                                **cache_settings: Any) -> DataSource:
    cache = MemoryCache(clock=clock)
    cache.set("AAPL", data, fetched_at=fetched_at, provider="one")
    facade = make_facade(ScriptedProvider("one", default=ProviderUnavailableError("down")),
                         cache=cache, provider_defaults={"retry": {"max_attempts": 1}},
                         cache_settings=cache_settings)
    info = facade.get_ticker_info("AAPL")  # must not raise, whatever the entry holds
    return DataSource(info["_data_source"])


def test_a_sound_entry_is_served(make_facade: MakeFacade, clock: FakeClock) -> None:
    # The control for the refusals below: the same set-up with a good entry serves it.
    source = served_from_cache_when_the_provider_is_down(make_facade, clock, make_info("AAPL"),
                                                         clock() - 60)
    assert source is DataSource.CACHE_FRESH


@pytest.mark.parametrize("fetched_at", [1e300, -1.0], ids=["1e300", "negative"])
def test_an_entry_stamped_with_no_believable_time_is_absent(make_facade: MakeFacade,
                                                            clock: FakeClock,
                                                            fetched_at: float) -> None:
    # fetched_at=1e300 raised OverflowError out of get_ticker_info (issue 15).
    source = served_from_cache_when_the_provider_is_down(make_facade, clock, make_info("AAPL"),
                                                         fetched_at)
    assert source is DataSource.ERROR


def test_an_entry_stamped_in_the_future_is_not_served_fresh_for_ever(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    source = served_from_cache_when_the_provider_is_down(
        make_facade, clock, make_info("AAPL"), clock() + DAY_S, read_through=True)
    assert source is DataSource.ERROR


def test_an_entry_stamped_within_the_clock_skew_is_served(make_facade: MakeFacade,
                                                          clock: FakeClock) -> None:
    source = served_from_cache_when_the_provider_is_down(make_facade, clock, make_info("AAPL"),
                                                         clock() + 5)
    assert source is DataSource.CACHE_FRESH


@pytest.mark.parametrize("data", [
    make_info("MSFT"),
    make_info("AAPL", regularMarketPrice=-1.0),
    make_info("AAPL", regularMarketPrice=0),
    make_info("AAPL", regularMarketPrice=None, currentPrice=None),
    make_info("AAPL", marketCap="3T"),
], ids=["another-symbol", "negative-price", "zero-price", "no-price", "wrong-type"])
def test_an_entry_failing_the_data_contract_is_absent(make_facade: MakeFacade, clock: FakeClock,
                                                      data: dict[str, Any],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    source = served_from_cache_when_the_provider_is_down(make_facade, clock, data, clock() - 60)
    assert source is DataSource.ERROR
    assert [r for r in caplog.records if r.levelno == logging.WARNING
            and "fail the data contract" in r.getMessage() and "AAPL" in r.getMessage()]


def test_a_failing_entry_does_not_stop_the_providers(make_facade: MakeFacade,
                                                     clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    cache.set("AAPL", make_info("AAPL"), fetched_at=1e300, provider="one")
    facade = make_facade(ScriptedProvider("one"), cache=cache, cache_settings={"read_through": True})
    assert facade.get_ticker_info("AAPL")["_data_source"] == "primary"
