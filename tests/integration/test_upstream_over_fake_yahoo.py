"""The yahoo upstream budget over both real adapters: every request counted, 429s cool the host.

Both libraries talk to one fake Yahoo here (one IP, as in life), unless a test gives each its
own to fail one library alone. The budget runs on the fake clock: its waits advance it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resilient_provider import DataSource, ResilientProvider
from resilient_provider.cache import MemoryCache
from resilient_provider.cli.stats import write_stats_table
from resilient_provider.config import StatsSettings
from resilient_provider.providers import YahooQueryProvider, YFinanceProvider
from resilient_provider.providers.yahoo_http import DATA_ROUTES
from resilient_provider.stats.export import prometheus_text
from resilient_provider.stats.store import StatsStore
from resilient_provider.testing import FakeClock, FakeYahooServer, Fault
from tests.conftest import fast_settings

PORTFOLIO = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META"]


def paced(**overrides: Any) -> Any:
    """Test settings with the yahoo budget on (tests elsewhere turn it off)."""
    upstream = {"enabled": True, "remember_rate": False, **overrides}
    return fast_settings(upstreams={"yahoo": upstream}, provider_defaults={"timeout_s": 2},
                         deadline_s=30)


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=5) as server:
        yield server


@pytest.fixture
def adapters(yahoo: FakeYahooServer) -> Iterator[tuple[YFinanceProvider, YahooQueryProvider]]:
    yf = YFinanceProvider(base_url=yahoo.base_url, timeout_s=1.0)
    yq = YahooQueryProvider(base_url=yahoo.base_url, timeout_s=1.0)
    yield yf, yq
    yf.close()
    yq.close()


def test_every_request_of_both_libraries_passes_the_one_budget(
        yahoo: FakeYahooServer, adapters: tuple[YFinanceProvider, YahooQueryProvider],
        clock: FakeClock) -> None:
    yf, yq = adapters
    yahoo.inject(Fault.server_error(503), route=DATA_ROUTES, symbols=["MSFT"],
                 library="yfinance")  # yahooquery answers it
    with ResilientProvider([yf, yq], cache=MemoryCache(clock=clock), settings=paced(),
                           clock=clock) as facade:
        results = facade.batch_fetch(PORTFOLIO)
        snapshot = facade.upstreams["yahoo"].snapshot()
    assert all(r.success for r in results.values())
    assert snapshot.requests == len(yahoo.requests)  # the budget saw exactly what Yahoo got
    assert set(snapshot.requests_by_provider) == {"yfinance", "yahooquery"}
    by_route = {route: yahoo.count(route=route) for route in snapshot.requests_by_route}
    assert snapshot.requests_by_route == by_route


def test_an_ip_throttle_is_answered_from_the_cache_and_trips_no_breaker(
        yahoo: FakeYahooServer, adapters: tuple[YFinanceProvider, YahooQueryProvider],
        clock: FakeClock) -> None:
    yf, yq = adapters
    cache = MemoryCache(clock=clock)
    with ResilientProvider([yf, yq], cache=cache, settings=paced(), clock=clock) as facade:
        facade.batch_fetch(PORTFOLIO)  # warm
        yahoo.inject(Fault.rate_limited(), route=DATA_ROUTES)  # plain 429, no Retry-After
        results = [facade.fetch(symbol) for symbol in PORTFOLIO]
        snapshot = facade.upstreams["yahoo"].snapshot()
        stats = facade.get_reliability_stats()["providers"]
    assert [r.source for r in results] == [DataSource.CACHE_FRESH] * len(PORTFOLIO)
    assert snapshot.requests_by_provider.get("yahooquery", 0) == 0  # no fall-over to Yahoo
    assert stats["yfinance"]["breaker"]["trips"] == 0
    assert stats["yahooquery"]["breaker"]["trips"] == 0
    assert snapshot.cooldowns >= 1
    # yahooquery was skipped: the host is cooling, or paced below what the deadline allows.
    codes = {a.error_code for r in results for a in r.attempts if a.step == "yahooquery"}
    assert codes and codes <= {"upstream_cooling", "throttled"}


def test_with_nothing_cached_a_cool_down_is_waited_out_within_the_deadline(
        yahoo: FakeYahooServer, adapters: tuple[YFinanceProvider, YahooQueryProvider],
        clock: FakeClock) -> None:
    yf, yq = adapters
    yahoo.inject(Fault.rate_limited(retry_after_s=2), route=DATA_ROUTES, times=1)
    with ResilientProvider([yf, yq], cache=MemoryCache(clock=clock), settings=paced(),
                           clock=clock) as facade:
        started = clock()
        result = facade.fetch("AAPL")
    # yfinance hands the 429 on; yahooquery, on the same host, asks once the pause is over.
    assert (result.source, result.provider) == (DataSource.FALLBACK, "yahooquery")
    assert clock() - started >= 2.0


def test_a_cool_down_past_the_deadline_fails_fast_with_upstream_cooling(
        yahoo: FakeYahooServer, adapters: tuple[YFinanceProvider, YahooQueryProvider],
        clock: FakeClock) -> None:
    yf, yq = adapters
    yahoo.inject(Fault.rate_limited(retry_after_s=600), route=DATA_ROUTES)
    with ResilientProvider([yf, yq], cache=MemoryCache(clock=clock), settings=paced(),
                           clock=clock) as facade:
        facade.fetch("AAPL")  # draws the 429: Yahoo cools for 10 minutes
        before = len(yahoo.requests)
        result = facade.fetch("MSFT")
    assert result.source is DataSource.ERROR
    assert result.error is not None and result.error.code == "upstream_cooling"
    assert len(yahoo.requests) == before  # nothing was sent to the cooling host


def test_a_block_of_one_library_counts_against_its_breaker_while_the_other_serves(
        yahoo: FakeYahooServer, adapters: tuple[YFinanceProvider, YahooQueryProvider],
        clock: FakeClock) -> None:
    yf, yq = adapters
    yahoo.block_library("yfinance")  # Yahoo refuses yfinance's fingerprint, not the IP
    with ResilientProvider([yf, yq], cache=MemoryCache(clock=clock), settings=paced(),
                           clock=clock) as facade:
        results = [facade.fetch(symbol) for symbol in PORTFOLIO]
        stats = facade.get_reliability_stats()["providers"]
        snapshot = facade.upstreams["yahoo"].snapshot()
    # The first 429 looks like the IP's: the fall-over waits out the cool-down and yahooquery
    # is served, which tells the two apart; from then on yfinance's 429s are its own.
    assert all(r.provider == "yahooquery" and r.success for r in results)
    assert stats["yfinance"]["breaker"]["trips"] >= 1
    assert stats["yahooquery"]["breaker"]["trips"] == 0
    # The second 429, to a request sent after yahooquery was served, confirms the block; from
    # then on yfinance's requests are held back instead of drawing more 429s.
    assert yahoo.count(status=429, library="yfinance") == 2
    assert snapshot.provider_blocks == 1
    held = [a for r in results for a in r.attempts if a.step == "yfinance"][2:]
    assert held and all("refuses yfinance itself" in a.detail or a.error_code == "circuit_open"
                        for a in held)


def test_the_upstreams_figures_reach_the_report_the_store_the_table_and_prometheus(
        yahoo: FakeYahooServer, adapters: tuple[YFinanceProvider, YahooQueryProvider],
        clock: FakeClock, tmp_path: Path) -> None:
    yf, yq = adapters
    settings = paced().model_copy(update={"stats": StatsSettings(path=tmp_path / "s.sqlite3")})
    with ResilientProvider([yf, yq], cache=MemoryCache(clock=clock), settings=settings,
                           clock=clock) as facade:
        facade.batch_fetch(PORTFOLIO)
        live = facade.get_reliability_stats()["upstreams"]["yahoo"]
        run_id = facade.run_id
        text = prometheus_text(facade.reliability_report())
    sent = len(yahoo.requests)
    assert live["requests"] == sent and live["rate_limited"] == 0
    assert live["requests_per_symbol"] == round(sent / len(PORTFOLIO), 3)
    assert live["rate_per_s"] >= live["min_rate_per_s"] > 0
    store = StatsStore(tmp_path / "s.sqlite3", create=False)
    try:
        stored = store.report([run_id])
    finally:
        store.close()
    assert stored.upstreams["yahoo"].requests == sent
    assert stored.upstreams["yahoo"].rate_per_s is None  # a gauge of a running budget only
    out = io.StringIO()
    write_stats_table(stored, [], out)
    assert "upstreams" in out.getvalue() and f"{sent:,}" in out.getvalue()
    quote_requests = yahoo.count(route="quoteSummary")
    assert (f'resilient_provider_upstream_requests_total{{route="quoteSummary",'
            f'upstream="yahoo"}} {float(quote_requests)}') in text


def test_retry_after_5_holds_every_request_of_both_libraries_back_for_5_seconds(
        clock: FakeClock) -> None:
    with FakeYahooServer(seed=5, clock=clock) as yahoo:
        yf = YFinanceProvider(base_url=yahoo.base_url, timeout_s=1.0)
        yq = YahooQueryProvider(base_url=yahoo.base_url, timeout_s=1.0)
        yahoo.inject(Fault.rate_limited(retry_after_s=5), route=DATA_ROUTES, times=1)
        with ResilientProvider([yf, yq], cache=MemoryCache(clock=clock), settings=paced(),
                               clock=clock) as facade:
            results = facade.batch_fetch(PORTFOLIO)
        yf.close()
        yq.close()
        log = yahoo.requests
    assert all(r.success for r in results.values())
    (refused,) = [r for r in log if r.status == 429]
    after = [r.at_s - refused.at_s for r in log if r.at_s > refused.at_s]
    assert after and min(after) >= 5.0  # the next request, of either library, 5 s later
