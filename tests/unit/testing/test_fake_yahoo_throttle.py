"""The throttled fake Yahoo seen from the client: Yahoo's 429, the log, one budget per IP.

Time is a fake clock handed to the server; requests go over real curl_cffi to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest
from curl_cffi.requests import exceptions as curl_exc

from resilient_provider.testing import FakeClock, FakeYahooServer, Fault, YahooRoutingSession
from resilient_provider.testing.fake_yahoo import Limit, PenaltyBox, SlidingWindow, TokenBucket
from tests.unit.testing.real_clients import private_yfinance, yahooquery_ticker, yfinance_info

QS = "https://query2.finance.yahoo.com/v10/finance/quoteSummary/AAPL"
CRUMB = "https://query1.finance.yahoo.com/v1/test/getcrumb"
COOKIE = "https://fc.yahoo.com/"
YAHOO_429 = "Too Many Requests\r\n"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def yahoo(clock: FakeClock) -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=3, clock=clock) as server:
        yield server


@pytest.fixture
def session(yahoo: FakeYahooServer) -> Iterator[YahooRoutingSession]:
    with yahoo.session(timeout_s=2) as client:
        yield client


def statuses(session: YahooRoutingSession, n: int, url: str = CRUMB) -> list[int]:
    return [session.get(url).status_code for _ in range(n)]


# --- Yahoo's 429 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [SlidingWindow(3, window_s=1.0), TokenBucket(1, burst=3)],
                         ids=["sliding_window", "token_bucket"])
def test_each_limit_model_admits_its_budget_and_429s_the_rest(
    yahoo: FakeYahooServer, session: YahooRoutingSession, limit: Limit,
) -> None:
    yahoo.throttle(limit)
    assert statuses(session, 5) == [200, 200, 200, 429, 429]


def test_the_429_is_yahoos_plain_text_without_retry_after(
    yahoo: FakeYahooServer, session: YahooRoutingSession,
) -> None:
    yahoo.throttle(SlidingWindow(1))
    session.get(CRUMB)
    refused = session.get(CRUMB)
    assert (refused.status_code, refused.text) == (429, YAHOO_429)
    assert refused.headers["content-type"] == "text/plain;charset=utf-8"
    assert "retry-after" not in {name.lower() for name in refused.headers}


def test_retry_after_is_sent_when_asked_in_whole_seconds(
    yahoo: FakeYahooServer, session: YahooRoutingSession,
) -> None:
    yahoo.throttle(SlidingWindow(1), retry_after_s=2.5)
    session.get(CRUMB)
    assert session.get(CRUMB).headers["Retry-After"] == "3"


def test_the_body_can_be_yahoos_edge_variant(yahoo: FakeYahooServer,
                                             session: YahooRoutingSession) -> None:
    yahoo.throttle(SlidingWindow(1), body="Edge: Too Many Requests")
    session.get(CRUMB)
    assert session.get(CRUMB).text == "Edge: Too Many Requests"


def test_time_on_the_servers_clock_restores_the_budget(
    yahoo: FakeYahooServer, session: YahooRoutingSession, clock: FakeClock,
) -> None:
    yahoo.throttle(TokenBucket(2, burst=1))
    assert statuses(session, 2) == [200, 429]
    clock.advance(0.5)
    assert statuses(session, 2) == [200, 429]


def test_the_penalty_box_refuses_everything_for_the_ban_then_lets_through(
    yahoo: FakeYahooServer, session: YahooRoutingSession, clock: FakeClock,
) -> None:
    yahoo.throttle(SlidingWindow(2), penalty=PenaltyBox(strikes=2, within_s=5, ban_s=3600))
    assert statuses(session, 4) == [200, 200, 429, 429]
    clock.advance(3599)  # the window refilled long ago
    assert statuses(session, 2) == [429, 429]
    assert {r.reason for r in yahoo.requests[-2:]} == {"penalty_box"}
    clock.advance(1)
    assert statuses(session, 1) == [200]


def test_the_in_flight_cap_429s_a_request_beyond_it() -> None:
    with FakeYahooServer(hang_limit_s=5) as yahoo:
        yahoo.throttle(max_in_flight=2)
        yahoo.inject(Fault.hang(), route="quoteSummary")

        def hang() -> None:
            with yahoo.session(timeout_s=5) as client, \
                    contextlib.suppress(curl_exc.RequestException):  # cut by stop()
                client.get(QS)

        hanging = [threading.Thread(target=hang) for _ in range(2)]
        for thread in hanging:
            thread.start()
        with yahoo.session(timeout_s=2) as client:
            for _ in range(400):  # both hangs are in flight once both are logged
                if yahoo.count(route="quoteSummary") == 2:
                    break
                threading.Event().wait(0.005)
            refused = client.get(QS)
        yahoo.stop()  # releases the hangs
        for thread in hanging:
            thread.join(timeout=5)
    assert (refused.status_code, refused.text) == (429, YAHOO_429)
    assert yahoo.requests[-1].reason == "in_flight"


# --- scope ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [COOKIE, "https://guce.yahoo.com/consent",
                                 "https://query2.finance.yahoo.com/v6/finance/nothing"])
def test_routes_not_covered_are_never_throttled(yahoo: FakeYahooServer,
                                                session: YahooRoutingSession, url: str) -> None:
    yahoo.throttle(SlidingWindow(1), penalty=PenaltyBox(strikes=1, within_s=60, ban_s=60))
    statuses(session, 2)  # one admitted, one refused: in the box
    assert 429 not in statuses(session, 5, url)


def test_routes_can_be_chosen(yahoo: FakeYahooServer, session: YahooRoutingSession) -> None:
    yahoo.throttle(SlidingWindow(1), routes=["cookie"])
    assert statuses(session, 2, COOKIE) == [200, 429]
    assert statuses(session, 3) == [200, 200, 200]


def test_a_refusal_uses_up_no_fault_rule(yahoo: FakeYahooServer,
                                         session: YahooRoutingSession,
                                         clock: FakeClock) -> None:
    yahoo.throttle(SlidingWindow(1))
    rule = yahoo.inject(Fault.server_error(), route="crumb", times=1)
    assert statuses(session, 2) == [500, 429]
    assert rule.times == 0
    yahoo.inject(Fault.server_error(), route="crumb", times=1)
    assert statuses(session, 1) == [429]
    clock.advance(1)
    assert statuses(session, 1) == [500]  # the rule waited for an admitted request


def test_clear_throttle_lets_everything_through(yahoo: FakeYahooServer,
                                                session: YahooRoutingSession) -> None:
    yahoo.throttle(SlidingWindow(1))
    statuses(session, 2)
    yahoo.clear_throttle()
    assert statuses(session, 5) == [200] * 5


def test_a_new_throttle_starts_with_fresh_budgets(yahoo: FakeYahooServer,
                                                  session: YahooRoutingSession) -> None:
    yahoo.throttle(SlidingWindow(1))
    statuses(session, 2)
    yahoo.throttle(SlidingWindow(1))
    assert statuses(session, 2) == [200, 429]


def test_both_libraries_share_one_ips_budget(yahoo: FakeYahooServer) -> None:
    yahoo.throttle(SlidingWindow(4, window_s=60))
    assert yfinance_info(private_yfinance(yahoo), "AAPL")["regularMarketPrice"] > 0
    yahooquery = yahooquery_ticker(yahoo, ["AAPL"])  # its crumb request is the fifth
    assert "Too Many Requests" in str(yahooquery.crumb)
    assert {r.library for r in yahoo.requests if r.status == 200 and r.route != "cookie"} == \
        {"yfinance"}
    assert yahoo.count(status=429, library="yahooquery") == 1


# --- the log --------------------------------------------------------------------------------------

def test_refused_requests_are_logged_as_throttled_with_the_reason(
    yahoo: FakeYahooServer, session: YahooRoutingSession, clock: FakeClock,
) -> None:
    yahoo.throttle(TokenBucket(1, burst=1))
    statuses(session, 3)
    admitted, *refused = yahoo.requests
    assert (admitted.status, admitted.fault, admitted.reason) == (200, None, None)
    assert [(r.route, r.status, r.fault, r.reason) for r in refused] == \
        [("crumb", 429, "throttled", "token_bucket")] * 2
    assert {r.client for r in yahoo.requests} == {"127.0.0.1"}
    assert {r.at_s for r in yahoo.requests} == {clock()}
    assert yahoo.count(status=429) == yahoo.count(fault="throttled") == 2


def test_counts_per_window_line_up_on_the_servers_clock(
    yahoo: FakeYahooServer, session: YahooRoutingSession, clock: FakeClock,
) -> None:
    yahoo.throttle(SlidingWindow(2))
    statuses(session, 3)
    clock.advance(1.2)
    statuses(session, 1)
    clock.advance(2.3)  # 3.5 s after the first request
    statuses(session, 4, COOKIE)
    assert yahoo.count_per_window(1.0) == [3, 1, 0, 4]
    assert yahoo.count_per_window(1.0, status=429) == [1, 0, 0, 0]
    assert yahoo.count_per_window(2.0, route="crumb") == [4, 0]


def test_counts_per_window_of_an_empty_log_and_a_bad_window(yahoo: FakeYahooServer) -> None:
    assert yahoo.count_per_window() == []
    with pytest.raises(ValueError, match="0"):
        yahoo.count_per_window(0)
