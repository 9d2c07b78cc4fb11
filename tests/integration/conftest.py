"""The façade over both real adapters, each talking to its own loopback fake Yahoo.

One fake Yahoo per library lets a fault hit yfinance and not yahooquery (real Yahoo blocks often
hit both; that is the "both down" case). Both servers share a seed, so their data agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from resilient_provider import ResilientProvider
from resilient_provider.cache import MemoryCache
from resilient_provider.providers.yahooquery import YahooQueryProvider
from resilient_provider.providers.yfinance import YFinanceProvider
from resilient_provider.testing import FakeClock, FakeYahooServer
from tests.conftest import fast_settings

SEED = 21


@dataclass
class Rig:
    """Everything a test drives or inspects."""

    yahoo_yf: FakeYahooServer
    yahoo_yq: FakeYahooServer
    yf: YFinanceProvider
    yq: YahooQueryProvider
    clock: FakeClock
    make: Callable[..., ResilientProvider]

    def stats(self, facade: ResilientProvider, provider: str) -> dict[str, Any]:
        view: dict[str, Any] = facade.get_reliability_stats()["providers"][provider]
        return view


@pytest.fixture
def rig(clock: FakeClock) -> Iterator[Rig]:
    with (FakeYahooServer(seed=SEED, unknown_symbols=("NOSUCH",)) as yahoo_yf,
          FakeYahooServer(seed=SEED, unknown_symbols=("NOSUCH",)) as yahoo_yq):
        yf = YFinanceProvider(base_url=yahoo_yf.base_url, timeout_s=1.0)
        yq = YahooQueryProvider(base_url=yahoo_yq.base_url, timeout_s=1.0)
        facades: list[ResilientProvider] = []

        def make(**settings: Any) -> ResilientProvider:
            settings.setdefault("provider_defaults", {"timeout_s": 2})
            facade = ResilientProvider([yf, yq], cache=MemoryCache(clock=clock),
                                       settings=fast_settings(**settings), clock=clock)
            facades.append(facade)
            return facade

        try:
            yield Rig(yahoo_yf, yahoo_yq, yf, yq, clock, make)
        finally:
            for facade in facades:
                facade.close()
            yf.close()
            yq.close()
