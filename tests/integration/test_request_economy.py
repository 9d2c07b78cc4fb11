"""Requests per symbol, counted by the fake Yahoo per route, for batches through the façade with
the real yfinance adapter: one quoteSummary per symbol, one v7 quote per 50 symbols, no
fundamentals-timeseries unless configured."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

import pytest

from resilient_provider import DataSource, ResilientProvider
from resilient_provider.cache import MemoryCache
from resilient_provider.providers.canonical import CORE_FIELDS
from resilient_provider.testing import FakeClock, FakeYahooServer
from tests.conftest import fast_settings

DATA_ROUTES = ("quoteSummary", "quote", "timeseries")
HANDSHAKE_ROUTES = ("cookie", "crumb", "consent")


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=5) as server:
        yield server


def facade_over(yahoo: FakeYahooServer, clock: FakeClock, **options: object) -> ResilientProvider:
    """The façade over the real yfinance adapter, with chunks of 50 symbols per provider call
    (the default ``batch_size`` is 25) and no client-side rate limit."""
    settings = fast_settings(
        providers=[{"name": "yfinance",
                    "options": {"base_url": yahoo.base_url, "max_workers": 8, **options}}],
        batch_size=50, deadline_s=60, max_concurrent_requests=4,
        provider_defaults={"timeout_s": 30, "retry": {"max_attempts": 1}})
    return ResilientProvider(settings=settings, cache=MemoryCache(clock=clock), clock=clock)


def routes(yahoo: FakeYahooServer) -> Counter[str]:
    return Counter(r.route for r in yahoo.requests)


@pytest.mark.parametrize("n", [50, 200])
def test_a_batch_costs_about_one_request_per_symbol(
    yahoo: FakeYahooServer, clock: FakeClock, n: int
) -> None:
    symbols = [f"E{i:03d}" for i in range(n)]
    with facade_over(yahoo, clock) as facade:
        results = facade.batch_fetch(symbols)
    assert {r.source for r in results.values()} == {DataSource.PRIMARY}
    seen = routes(yahoo)
    assert all(yahoo.count(route="quoteSummary", symbol=s) == 1 for s in symbols)
    assert seen["quoteSummary"] == n
    assert seen["quote"] <= math.ceil(n / 50)
    assert seen["timeseries"] == 0
    data = sum(seen[r] for r in DATA_ROUTES)
    handshake = sum(seen[r] for r in HANDSHAKE_ROUTES)
    assert data / n <= 1.1, f"{data / n:.3f} data requests per symbol"
    assert set(seen) <= {*DATA_ROUTES, *HANDSHAKE_ROUTES}, seen
    assert (seen["cookie"], seen["crumb"], seen["consent"]) == (1, 1, 0), seen
    assert handshake / n <= 0.04


def test_after_a_refused_crumb_the_handshake_is_done_again_once(
    yahoo: FakeYahooServer, clock: FakeClock
) -> None:
    # The routed session keeps its cookie like a real-Yahoo one, until yfinance itself drops it
    # (a >= 400 answer makes it switch its cookie strategy and start over).
    with facade_over(yahoo, clock) as facade:
        assert facade.get_ticker_info("AAPL")["_data_source"] == "primary"
        yahoo.expire_crumbs()
        assert facade.get_ticker_info("MSFT")["_data_source"] == "primary"
        assert facade.get_ticker_info("QQQ")["_data_source"] == "primary"
    seen = routes(yahoo)
    assert seen["crumb"] == 2 and seen["consent"] == 3  # yfinance's csrf strategy, once
    assert seen["cookie"] == 1


def test_trailing_peg_ratio_is_an_option_in_the_config(
    yahoo: FakeYahooServer, clock: FakeClock
) -> None:
    with facade_over(yahoo, clock, trailing_peg_ratio=True) as facade:
        info = facade.get_ticker_info("AAPL")
    assert info["_data_source"] == "primary"
    assert isinstance(info["trailingPegRatio"], float)
    assert routes(yahoo)["timeseries"] == 1


def test_a_single_answer_keeps_every_core_field_and_the_trailing_peg_ratio_key(
    yahoo: FakeYahooServer, clock: FakeClock
) -> None:
    with facade_over(yahoo, clock) as facade:
        info = facade.get_ticker_info("MSFT")
    assert info["_data_source"] == "primary"
    assert set(CORE_FIELDS) <= set(info) and info["trailingPegRatio"] is None
    assert isinstance(info["regularMarketPrice"], float) and isinstance(info["sector"], str)
    seen = routes(yahoo)
    assert (seen["quoteSummary"], seen["quote"], seen["timeseries"]) == (1, 1, 0)



class RefusingGate:
    """A gate that lets ``allowed`` quoteSummary requests out, then refuses the rest (our
    pacing found no slot within the deadline), and everything else through."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed

    def admit(self, provider: str, route: str) -> object:
        from resilient_provider.errors import ThrottledError

        if route == "quoteSummary":
            if self.allowed <= 0:
                raise ThrottledError("no slot within the deadline", provider=provider)
            self.allowed -= 1
        return object()

    def settle(self, ticket: object, *, status: int | None,
               retry_after_s: float | None = None) -> None:
        pass


def test_yahooquery_keeps_the_answers_sent_before_a_refused_request(
        yahoo: FakeYahooServer) -> None:
    from resilient_provider.providers import YahooQueryProvider

    symbols = [f"Q{i}" for i in range(6)]
    provider = YahooQueryProvider(base_url=yahoo.base_url, timeout_s=2.0, chunk_size=6)
    provider.bind_gate(RefusingGate(allowed=3))
    try:
        answers = provider.fetch_info(symbols)
    finally:
        provider.close()
    assert all(isinstance(answers[s], dict) for s in symbols[:3])
    assert {getattr(answers[s], "code", None) for s in symbols[3:]} == {"throttled"}
    assert [yahoo.count(route="quoteSummary", symbol=s) for s in symbols] == [1, 1, 1, 0, 0, 0]
