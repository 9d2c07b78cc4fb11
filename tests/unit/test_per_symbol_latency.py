"""Each symbol of a batch carries its own latency: how long its own answer took, not the
slowest symbol's of its chunk (nor the whole walk's)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from resilient_provider import ResilientProvider
from resilient_provider.errors import ProviderUnavailableError
from resilient_provider.providers import YFinanceProvider
from resilient_provider.providers.protocol import InfoOrError
from resilient_provider.testing import FakeYahooServer, Fault, ScriptedProvider, make_info
from tests.conftest import MakeFacade, fast_settings

SLOW_S = 0.3


class SlowProvider:
    """Answers every symbol after ``SLOW_S`` real seconds (a slow fallback)."""

    name = "slow"

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        time.sleep(SLOW_S)
        return {s: make_info(s) for s in symbols}

    def close(self) -> None:
        pass


def test_a_symbol_the_primary_answered_does_not_carry_its_chunks_fall_over_time(
        make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one", {"B": ProviderUnavailableError("down")})
    facade = make_facade(primary, SlowProvider())
    results = facade.batch_fetch(["A", "B"])
    fast, slow = results["A"].latency_ms, results["B"].latency_ms
    assert results["B"].provider == "slow"
    assert slow >= SLOW_S * 1000
    assert fast < slow / 3  # A was ready before B fell over
    frame = facade.batch_get_ticker_info(["A", "B"], as_frame=True, refresh=True)
    assert frame["_latency_ms"].iloc[0] < frame["_latency_ms"].iloc[1] / 3


def test_yfinance_gives_each_symbol_of_one_call_its_own_latency() -> None:
    with FakeYahooServer(seed=2) as yahoo:
        yahoo.inject(Fault.slow(SLOW_S), route="quoteSummary", symbols=["MSFT"])
        adapter = YFinanceProvider(base_url=yahoo.base_url, timeout_s=5, max_workers=4)
        settings = fast_settings(provider_defaults={"timeout_s": 5})
        try:
            with ResilientProvider([adapter], settings=settings) as facade:
                results = facade.batch_fetch(["AAPL", "MSFT", "SPY"])
        finally:
            adapter.close()
    assert {r.source.value for r in results.values()} == {"primary"}
    slow = results["MSFT"].latency_ms
    assert slow >= SLOW_S * 1000
    assert results["AAPL"].latency_ms < slow - SLOW_S * 500
    assert results["SPY"].latency_ms < slow - SLOW_S * 500
    # The step's own figure: the walk's latency adds only what came before the step.
    assert results["AAPL"].attempts[0].latency_ms <= results["AAPL"].latency_ms < slow / 2
