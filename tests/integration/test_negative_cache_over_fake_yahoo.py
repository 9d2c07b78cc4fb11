"""The negative cache over the real adapters and a disk cache: symbols Yahoo does not know
cost no request on a second run within ``cache.not_found_for``, and are asked again after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from resilient_provider import DataSource, ResilientProvider
from resilient_provider.providers.yahooquery import YahooQueryProvider
from resilient_provider.providers.yfinance import YFinanceProvider
from resilient_provider.testing import FakeClock, FakeYahooServer
from tests.conftest import fast_settings

UNKNOWN = tuple(f"GONE{i}" for i in range(10))
KNOWN = tuple(f"K{i:02d}" for i in range(15))
DAY = 86400.0

MakeRun = Callable[[], ResilientProvider]


@pytest.fixture
def servers() -> Iterator[tuple[FakeYahooServer, FakeYahooServer]]:
    with (FakeYahooServer(seed=5, unknown_symbols=UNKNOWN) as yahoo_yf,
          FakeYahooServer(seed=5, unknown_symbols=UNKNOWN) as yahoo_yq):
        yield yahoo_yf, yahoo_yq


@pytest.fixture
def new_run(servers: tuple[FakeYahooServer, FakeYahooServer], tmp_path: Path,
            clock: FakeClock) -> Iterator[MakeRun]:
    """A new façade each call ("a run"), on the same disk cache directory, over the same two
    adapters (yahooquery's set-up is network I/O: a new adapter per run would add requests)."""
    yahoo_yf, yahoo_yq = servers
    yf = YFinanceProvider(base_url=yahoo_yf.base_url, timeout_s=2.0)
    yq = YahooQueryProvider(base_url=yahoo_yq.base_url, timeout_s=2.0)
    settings = fast_settings(cache={"backend": "disk", "path": str(tmp_path / "cache")},
                             provider_defaults={"timeout_s": 2, "retry": {"max_attempts": 1}})
    runs: list[ResilientProvider] = []

    def make() -> ResilientProvider:
        for run in runs:
            run.close()  # the previous run ends first, as a script's would
        runs.append(ResilientProvider([yf, yq], settings=settings, clock=clock))
        return runs[-1]

    try:
        yield make
    finally:
        for run in runs:
            run.close()
        yf.close()
        yq.close()


def requests(servers: tuple[FakeYahooServer, FakeYahooServer], **match: Any) -> int:
    return sum(server.count(**match) for server in servers)


def forget_requests(servers: tuple[FakeYahooServer, FakeYahooServer]) -> None:
    for server in servers:
        server.reset_log()


def test_ten_unknown_symbols_cost_no_requests_on_a_second_run(
        new_run: MakeRun, servers: tuple[FakeYahooServer, FakeYahooServer],
        clock: FakeClock) -> None:
    first = new_run()
    for symbol in UNKNOWN:
        assert first.get_ticker_info(symbol)["_error_code"] == "symbol_not_found"
    assert all(requests(servers, route="quoteSummary", symbol=s) for s in UNKNOWN)
    forget_requests(servers)

    clock.advance(DAY - 60)
    second = new_run()
    for symbol in UNKNOWN:
        result = second.fetch(symbol)
        assert (result.source, result.to_tagged_dict()["_error_code"]) == (DataSource.ERROR,
                                                                           "symbol_not_found")
        assert result.attempts[0].detail.startswith("known unknown")
    assert [len(server.requests) for server in servers] == [0, 0]
    assert second.get_reliability_stats()["not_found_cache_hits"] == len(UNKNOWN)

    clock.advance(60)  # 24 h since they were confirmed: asked again
    third = new_run()
    for symbol in UNKNOWN:
        assert third.fetch(symbol).attempts[0].step == "yfinance"
    assert all(requests(servers, route="quoteSummary", symbol=s) for s in UNKNOWN)


def test_a_batch_of_ten_unknown_symbols_costs_no_requests_on_a_second_run(
        new_run: MakeRun, servers: tuple[FakeYahooServer, FakeYahooServer],
        clock: FakeClock) -> None:
    first = new_run().batch_fetch(list(UNKNOWN))
    assert {r.to_tagged_dict()["_error_code"] for r in first.values()} == {"symbol_not_found"}
    assert all(requests(servers, route="quoteSummary", symbol=s) for s in UNKNOWN)
    forget_requests(servers)

    clock.advance(DAY - 60)
    second = new_run().batch_fetch(list(UNKNOWN))
    assert {r.to_tagged_dict()["_error_code"] for r in second.values()} == {"symbol_not_found"}
    assert [len(server.requests) for server in servers] == [0, 0]


def test_a_portfolio_with_dead_tickers_asks_only_for_the_live_ones_the_next_run(
        new_run: MakeRun, servers: tuple[FakeYahooServer, FakeYahooServer],
        clock: FakeClock) -> None:
    portfolio = [*KNOWN, *UNKNOWN]  # 10 of 25 unknown: too few to look like a broken upstream
    first = new_run().batch_fetch(portfolio)
    assert {first[s].source for s in KNOWN} == {DataSource.PRIMARY}
    assert {first[s].to_tagged_dict()["_error_code"] for s in UNKNOWN} == {"symbol_not_found"}
    forget_requests(servers)

    clock.advance(3600)
    second = new_run().batch_fetch(portfolio)
    assert {second[s].source for s in KNOWN} == {DataSource.PRIMARY}
    assert [requests(servers, symbol=s) for s in UNKNOWN] == [0] * len(UNKNOWN)
    assert all(requests(servers, route="quoteSummary", symbol=s) for s in KNOWN)


def test_refresh_asks_yahoo_again(new_run: MakeRun,
                                  servers: tuple[FakeYahooServer, FakeYahooServer]) -> None:
    new_run().fetch(UNKNOWN[0])
    forget_requests(servers)
    result = new_run().fetch(UNKNOWN[0], refresh=True)
    assert result.attempts[0].step == "yfinance"
    assert requests(servers, route="quoteSummary", symbol=UNKNOWN[0]) >= 1
