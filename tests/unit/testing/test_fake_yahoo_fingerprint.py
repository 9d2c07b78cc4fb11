"""The fake Yahoo tells yfinance from yahooquery, and can block one while the other works.

The URLs below are the requests yfinance 1.7 and yahooquery 2.4 sent to the fake (captured
from the real libraries, crumbs replaced); the last tests drive the libraries themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from resilient_provider.errors import RateLimitError
from resilient_provider.providers import YahooQueryProvider, YFinanceProvider
from resilient_provider.testing import FakeYahooServer, Fault
from resilient_provider.testing.fake_yahoo.answers import classify
from resilient_provider.testing.fake_yahoo.fingerprint import LibraryIdentifier
from tests.unit.testing.real_clients import private_yfinance, yahooquery_ticker, yfinance_info

YFINANCE_REQUESTS = [
    "https://fc.yahoo.com/",
    "https://query1.finance.yahoo.com/v1/test/getcrumb",
    "https://query2.finance.yahoo.com/v10/finance/quoteSummary/AAPL?modules=financialData%2C"
    "quoteType%2CdefaultKeyStatistics%2CassetProfile%2CsummaryDetail&corsDomain=finance.yahoo"
    ".com&formatted=false&symbol=AAPL&lang=en-US&region=US&crumb=C",
    "https://query1.finance.yahoo.com/v7/finance/quote?symbols=AAPL&formatted=false&lang=en-US"
    "&region=US&crumb=C",
    "https://query1.finance.yahoo.com/ws/fundamentals-timeseries/v1/finance/timeseries/AAPL?"
    "symbol=AAPL&type=trailingPegRatio&period1=1780444800&period2=1796256000&crumb=C",
    "https://guce.yahoo.com/consent",
    "https://consent.yahoo.com/v2/collectConsent?sessionId=abc",
]
YAHOOQUERY_REQUESTS = [
    "https://finance.yahoo.com/",
    "https://query2.finance.yahoo.com/v10/finance/quoteSummary/AAPL?modules=price&formatted="
    "false&lang=en-US&region=US&corsDomain=finance.yahoo.com&crumb=C",
    "https://query2.finance.yahoo.com/v7/finance/quote?lang=en-US&region=US&corsDomain=finance"
    ".yahoo.com&crumb=C&symbols=AAPL%2CMSFT",
    "https://query2.finance.yahoo.com/ws/fundamentals-timeseries/v1/finance/timeseries/AAPL?"
    "period1=493590046&period2=1796256000&type=annualEBIT&merge=false&padTimeSeries=false&lang="
    "en-US&region=US&corsDomain=finance.yahoo.com&crumb=C",
    "https://consent.yahoo.com/v2/collectConsent",
]
HAND_WRITTEN_REQUESTS = [
    "https://query2.finance.yahoo.com/v10/finance/quoteSummary/AAPL?modules=price&crumb=C",
    "https://query1.finance.yahoo.com/v7/finance/quote?symbols=AAPL&crumb=C",
    "https://query2.finance.yahoo.com/v1/test/getcrumb",  # yahooquery, or yfinance's fallback
    "https://yahoo.com/",
]


def identify(url: str, cookie: str | None = None,
             identifier: LibraryIdentifier | None = None) -> str | None:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    route, _ = classify(parts.hostname or "", parts.path or "/", query)
    return (identifier or LibraryIdentifier()).identify(route, parts.hostname or "", query,
                                                        cookie)


@pytest.mark.parametrize("url", YFINANCE_REQUESTS)
def test_yfinances_requests_are_told_by_their_parameters_and_hosts(url: str) -> None:
    assert identify(url) == "yfinance"


@pytest.mark.parametrize("url", YAHOOQUERY_REQUESTS)
def test_yahooquerys_requests_are_told_by_their_parameters_and_hosts(url: str) -> None:
    assert identify(url) == "yahooquery"


@pytest.mark.parametrize("url", HAND_WRITTEN_REQUESTS)
def test_requests_that_fit_neither_library_are_not_attributed(url: str) -> None:
    assert identify(url) is None


@pytest.mark.parametrize(("cookie_host", "library"), [("finance.yahoo.com", "yahooquery"),
                                                      ("fc.yahoo.com", "yfinance")])
def test_a_crumb_request_on_query2_is_told_by_the_cookie_it_carries(cookie_host: str,
                                                                    library: str) -> None:
    identifier = LibraryIdentifier()
    identifier.learn(["A3=d=0123abcd; Path=/; Max-Age=31557600"],
                     identify(f"https://{cookie_host}/"))
    crumb = "https://query2.finance.yahoo.com/v1/test/getcrumb"
    assert identify(crumb, "A3=d=0123abcd", identifier) == library
    assert identify(crumb, "A3=d=someone-else", identifier) is None
    assert identify(crumb, "garbage;;==\x00", identifier) is None


# --- the block, against the real libraries -------------------------------------------------------

@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=5) as server:
        yield server


def run_both(yahoo: FakeYahooServer) -> tuple[dict[str, object] | Exception, object]:
    """yfinance's info for AAPL (or what it raised), then yahooquery's price module per
    symbol (one module: yahooquery answers its fields directly)."""
    try:
        info: dict[str, object] | Exception = yfinance_info(private_yfinance(yahoo), "AAPL")
    except Exception as exc:  # noqa: BLE001 - the outcome under test
        info = exc
    modules = yahooquery_ticker(yahoo, ["AAPL", "MSFT"]).get_modules(["price"])
    return info, modules


def test_every_request_of_both_libraries_is_attributed(yahoo: FakeYahooServer) -> None:
    run_both(yahoo)
    by_library = {(r.library, r.route) for r in yahoo.requests}
    assert by_library == {
        ("yfinance", "cookie"), ("yfinance", "crumb"), ("yfinance", "quoteSummary"),
        ("yfinance", "quote"), ("yfinance", "timeseries"),
        ("yahooquery", "cookie"), ("yahooquery", "crumb"), ("yahooquery", "quoteSummary")}


def test_blocking_yfinance_refuses_it_and_leaves_yahooquery_alone(
    yahoo: FakeYahooServer,
) -> None:
    from yfinance.exceptions import YFRateLimitError

    yahoo.block_library("yfinance")
    info, modules = run_both(yahoo)
    assert isinstance(info, YFRateLimitError)
    assert isinstance(modules, dict) and modules["AAPL"]["regularMarketPrice"] > 0
    refused = [r for r in yahoo.requests if r.status == 429]
    assert refused and {(r.library, r.fault) for r in refused} == {("yfinance", "rate_limited")}
    assert yahoo.count(route="quoteSummary", library="yahooquery", status=200) == 2


def test_blocking_yahooquery_refuses_it_and_leaves_yfinance_alone(
    yahoo: FakeYahooServer,
) -> None:
    yahoo.block_library("yahooquery")
    info, modules = run_both(yahoo)
    assert isinstance(info, dict) and float(str(info["regularMarketPrice"])) > 0
    assert modules == {"error": "HTTP 404 Not Found.  Please try again"}  # its view of a 429
    refused = [r for r in yahoo.requests if r.status == 429]
    assert {r.library for r in refused} == {"yahooquery"}
    assert {r.route for r in refused} == {"crumb", "quoteSummary"}
    assert yahoo.count(library="yfinance", status=429) == 0


def test_the_block_covers_the_crumb_and_data_routes_only(yahoo: FakeYahooServer) -> None:
    yahoo.block_library("yfinance")
    run_both(yahoo)
    assert yahoo.count(route="cookie", library="yfinance", status=200) >= 1
    assert yahoo.count(route="consent", library="yfinance", status=200) == 3


def test_the_adapters_see_one_provider_blocked_and_the_other_answering(
    yahoo: FakeYahooServer,
) -> None:
    rule = yahoo.block_library("yfinance", retry_after_s=30)
    yfinance = YFinanceProvider(base_url=yahoo.base_url, timeout_s=5)
    yahooquery = YahooQueryProvider(base_url=yahoo.base_url, timeout_s=5)
    try:
        blocked = yfinance.fetch_info(["AAPL"])["AAPL"]
        answered = yahooquery.fetch_info(["AAPL"])["AAPL"]
        rule.remove()
        lifted = yfinance.fetch_info(["MSFT"])["MSFT"]
    finally:
        yfinance.close()
        yahooquery.close()
    assert isinstance(blocked, RateLimitError) and blocked.retry_after == 30
    assert isinstance(answered, dict) and answered["regularMarketPrice"] > 0
    assert isinstance(lifted, dict) and lifted["symbol"] == "MSFT"


# --- library-scoped faults --------------------------------------------------------------------------

def test_any_fault_can_be_scoped_to_one_library(yahoo: FakeYahooServer) -> None:
    yahoo.inject(Fault.invalid_crumb(), route="quoteSummary", library="yahooquery")
    with yahoo.session(timeout_s=2) as client:
        crumb = client.get("https://query2.finance.yahoo.com/v1/test/getcrumb").text
        by_yfinance, by_yahooquery = (client.get(url.replace("crumb=C", f"crumb={crumb}"))
                                      for url in (YFINANCE_REQUESTS[2], YAHOOQUERY_REQUESTS[1]))
    assert (by_yfinance.status_code, by_yahooquery.status_code) == (200, 401)


def test_a_library_filter_never_matches_an_unattributed_request(
    yahoo: FakeYahooServer,
) -> None:
    yahoo.block_library("yfinance")
    yahoo.block_library("yahooquery")
    with yahoo.session(timeout_s=2) as client:
        assert client.get(HAND_WRITTEN_REQUESTS[2]).status_code == 200


def test_an_unknown_library_names_the_bad_value(yahoo: FakeYahooServer) -> None:
    with pytest.raises(ValueError, match="pandas_datareader"):
        yahoo.inject(Fault.rate_limited(), library="pandas_datareader")


def test_the_log_names_the_library_of_each_request(yahoo: FakeYahooServer) -> None:
    for url in (YFINANCE_REQUESTS[0], YAHOOQUERY_REQUESTS[0], HAND_WRITTEN_REQUESTS[3]):
        with yahoo.session(timeout_s=2) as client:  # a fresh cookie jar each
            client.get(url)
    assert [r.library for r in yahoo.requests] == ["yfinance", "yahooquery", None]
