"""A fake Yahoo per test and both real adapters pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from resilient_provider.providers.yahooquery import YahooQueryProvider
from resilient_provider.providers.yfinance import YFinanceProvider
from resilient_provider.testing import FakeYahooServer

ADAPTERS: dict[str, type[Any]] = {"yfinance": YFinanceProvider, "yahooquery": YahooQueryProvider}

Adapter = YFinanceProvider | YahooQueryProvider


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=11, unknown_symbols=("NOSUCH",)) as server:
        yield server


@pytest.fixture
def make_adapter(yahoo: FakeYahooServer) -> Iterator[Callable[..., Adapter]]:
    """``make_adapter("yfinance", timeout_s=...)``: an adapter on the test's fake Yahoo."""
    made: list[Adapter] = []

    def make(name: str, **options: Any) -> Adapter:
        options.setdefault("base_url", yahoo.base_url)
        options.setdefault("timeout_s", 2.0)
        adapter: Adapter = ADAPTERS[name](**options)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


@pytest.fixture(params=sorted(ADAPTERS))
def adapter_name(request: pytest.FixtureRequest) -> str:
    """Runs a test once per built-in adapter."""
    name: str = request.param
    return name
