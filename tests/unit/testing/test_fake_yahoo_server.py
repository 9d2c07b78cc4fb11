"""The fake Yahoo from the client's side: routes, crumb, faults, log — over real curl_cffi,
and the real yfinance and yahooquery talking to it."""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from bs4 import BeautifulSoup
from curl_cffi import requests as curl_requests
from curl_cffi.requests import exceptions as curl_exc

from resilient_provider.testing import (
    FakeYahooServer,
    Fault,
    YahooBodyGenerator,
    YahooRoutingSession,
)
from tests.unit.testing.real_clients import private_yfinance, yfinance_info
from tests.yahoo_fixtures import RecordedYahooBodies, recorded_quote_summary, requires_fixtures

QS = "https://query2.finance.yahoo.com/v10/finance/quoteSummary/{}"
V7 = "https://query1.finance.yahoo.com/v7/finance/quote"
TS = "https://query1.finance.yahoo.com/ws/fundamentals-timeseries/v1/finance/timeseries/{}"
CRUMB = "https://query1.finance.yahoo.com/v1/test/getcrumb"
JSON_TYPE = "application/json;charset=utf-8"


@pytest.fixture
def yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(seed=2, unknown_symbols=("NOSUCH",)) as server:
        yield server


@pytest.fixture
def session(yahoo: FakeYahooServer) -> Iterator[YahooRoutingSession]:
    with yahoo.session(timeout_s=2) as client:
        yield client


def crumb(session: YahooRoutingSession) -> str:
    text: str = session.get(CRUMB).text
    return text


def summary(session: YahooRoutingSession, symbol: str = "AAPL", modules: str = "price") -> Any:
    return session.get(QS.format(symbol), params={"modules": modules, "formatted": "false",
                                                  "crumb": crumb(session)})


def quote(session: YahooRoutingSession, symbols: str) -> Any:
    return session.get(V7, params={"symbols": symbols, "crumb": crumb(session)})


def v7_symbols(response: Any) -> list[str]:
    return [entry["symbol"] for entry in response.json()["quoteResponse"]["result"]]


# --- routes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["https://fc.yahoo.com", "https://finance.yahoo.com/"])
def test_the_cookie_route_sets_an_a3_cookie(session: YahooRoutingSession, url: str) -> None:
    response = session.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.headers["set-cookie"].startswith("A3=") and "Path=/" in response.headers["set-cookie"]


def test_getcrumb_issues_a_fresh_crumb_on_either_host(session: YahooRoutingSession) -> None:
    first = session.get(CRUMB)
    second = session.get(CRUMB.replace("query1", "query2"))
    assert first.headers["content-type"].startswith("text/plain")
    assert len(first.text) == len(second.text) == 11 and first.text != second.text


def test_the_consent_flow_serves_the_form_yfinance_parses(yahoo: FakeYahooServer,
                                                          session: YahooRoutingSession) -> None:
    form = BeautifulSoup(session.get("https://guce.yahoo.com/consent").content, "html.parser")
    token = form.find("input", attrs={"name": "csrfToken"})
    session_id = form.find("input", attrs={"name": "sessionId"})
    assert token is not None and session_id is not None and token["value"] and session_id["value"]
    sid, csrf = str(session_id["value"]), str(token["value"])
    posted = session.post(f"https://consent.yahoo.com/v2/collectConsent?sessionId={sid}",
                          data={"csrfToken": csrf, "sessionId": sid, "agree": "agree"})
    copied = session.get(f"https://guce.yahoo.com/copyConsent?sessionId={sid}")
    assert posted.status_code == copied.status_code == 200
    assert [(r.method, r.host, r.route) for r in yahoo.requests] == [
        ("GET", "guce.yahoo.com", "consent"), ("POST", "consent.yahoo.com", "consent"),
        ("GET", "guce.yahoo.com", "consent")]


def test_other_paths_get_yahoos_404_envelope(session: YahooRoutingSession) -> None:
    response = session.get("https://query2.finance.yahoo.com/v6/finance/quote?symbols=AAPL")
    assert response.status_code == 404 and response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"finance": {"result": None, "error": {
        "code": "Not Found", "description": "HTTP 404 Not Found"}}}


def test_quote_summary_answers_only_the_requested_modules(yahoo: FakeYahooServer,
                                                          session: YahooRoutingSession) -> None:
    response = summary(session, modules="price,summaryDetail,earnings")
    assert response.status_code == 200 and response.headers["content-type"] == JSON_TYPE
    body = response.json()["quoteSummary"]
    assert body["error"] is None and len(body["result"]) == 1
    assert set(body["result"][0]) == {"price", "summaryDetail"}  # no earnings module exists
    generated = YahooBodyGenerator(seed=2).quote_summary("AAPL", ["price"])
    assert body["result"][0]["price"] == generated["price"]


def test_an_unknown_symbol_gets_yahoos_404(session: YahooRoutingSession) -> None:
    response = summary(session, "NOSUCH")
    assert response.status_code == 404 and response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"quoteSummary": {"result": None, "error": {
        "code": "Not Found", "description": "Quote not found for symbol: NOSUCH"}}}


def test_modules_a_symbol_lacks_get_the_no_fundamentals_404(session: YahooRoutingSession) -> None:
    response = summary(session, "EURUSD=X", modules="financialData,assetProfile")
    assert response.status_code == 404
    assert response.json()["quoteSummary"]["error"] == {
        "code": "Not Found",
        "description": "No fundamentals data found for any of the summaryTypes="
                       "financialData,assetProfile"}


@pytest.mark.parametrize(("path_symbol", "symbol", "kind"), [
    ("EURUSD%3DX", "EURUSD=X", "CURRENCY"), ("%5EVXAPL", "^VXAPL", "INDEX"),
])
def test_symbols_in_the_path_are_url_decoded(yahoo: FakeYahooServer,
                                             session: YahooRoutingSession, path_symbol: str,
                                             symbol: str, kind: str) -> None:
    result = summary(session, path_symbol, modules="price").json()["quoteSummary"]["result"][0]
    assert (result["price"]["symbol"], result["price"]["quoteType"]) == (symbol, kind)
    assert yahoo.requests[-1].symbols == (symbol,)


def test_v7_batches_symbols_in_order_and_leaves_unknown_ones_out(
    session: YahooRoutingSession,
) -> None:
    response = quote(session, "MSFT,NOSUCH,AAPL")
    assert response.status_code == 200 and response.json()["quoteResponse"]["error"] is None
    assert v7_symbols(response) == ["MSFT", "AAPL"]


def test_v7_without_symbols_is_a_bad_request(session: YahooRoutingSession) -> None:
    response = quote(session, "")
    assert response.status_code == 400 and "symbols" in response.text


@pytest.mark.parametrize("route", ["quoteSummary", "quote"])
def test_data_routes_need_a_crumb_this_server_issued(yahoo: FakeYahooServer,
                                                     session: YahooRoutingSession,
                                                     route: str) -> None:
    url, params = (QS.format("AAPL"), {"modules": "price"}) if route == "quoteSummary" \
        else (V7, {"symbols": "AAPL"})
    unauthorized = {"finance": {"result": None, "error": {
        "code": "Unauthorized", "description": "Invalid Crumb"}}}
    for bogus in ({}, {"crumb": "not-a-crumb"}):
        response = session.get(url, params={**params, **bogus})
        assert response.status_code == 401 and response.json() == unauthorized
    issued = crumb(session)
    assert session.get(url, params={**params, "crumb": issued}).status_code == 200
    yahoo.expire_crumbs()
    assert session.get(url, params={**params, "crumb": issued}).status_code == 401
    assert [r.crumb_ok for r in yahoo.requests if r.route == route] == [False, False, True, False]


def test_timeseries_needs_no_crumb_and_answers_within_the_period(
    session: YahooRoutingSession,
) -> None:
    period1, period2 = 1_724_371_200, 1_740_268_800
    response = session.get(TS.format("AAPL"), params={
        "symbol": "AAPL", "type": "trailingPegRatio", "period1": period1, "period2": period2})
    body = response.json()["timeseries"]
    assert response.status_code == 200 and body["error"] is None
    (item,) = body["result"]
    assert item["meta"] == {"symbol": ["AAPL"], "type": ["trailingPegRatio"]}
    assert period1 <= item["timestamp"][0] <= period2
    assert item["trailingPegRatio"][0]["reportedValue"]["raw"] > 0


def test_timeseries_for_an_unknown_symbol_is_meta_only(session: YahooRoutingSession) -> None:
    response = session.get(TS.format("NOSUCH"), params={"type": "trailingPegRatio"})
    assert response.json()["timeseries"]["result"] == [
        {"meta": {"symbol": ["NOSUCH"], "type": ["trailingPegRatio"]}}]


def test_latency_delays_data_routes_only() -> None:
    with FakeYahooServer(latency_s=0.1) as server, server.session() as client:
        started = time.monotonic()
        token = client.get(CRUMB).text
        handshake_s = time.monotonic() - started
        started = time.monotonic()
        client.get(QS.format("AAPL"), params={"modules": "price", "crumb": token})
        assert time.monotonic() - started >= 0.1 > handshake_s


# --- faults, seen by the client -------------------------------------------------------------------

def test_rate_limited_sends_yahoos_text_and_retry_after(yahoo: FakeYahooServer,
                                                        session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.rate_limited(retry_after_s=2), route="quoteSummary", times=1)
    yahoo.inject(Fault.rate_limited(), route="quoteSummary", times=1)
    limited, bare = summary(session), summary(session)
    assert limited.status_code == bare.status_code == 429
    assert limited.headers["Retry-After"] == "2" and "Retry-After" not in bare.headers
    assert limited.text == "Too Many Requests\r\n"
    assert limited.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(("fault", "status", "error"), [
    (Fault.server_error(), 500, {"code": "Internal Server Error",
                                 "description": "HTTP 500 Internal Server Error"}),
    (Fault.server_error(503), 503, {"code": "Service Unavailable",
                                    "description": "HTTP 503 Service Unavailable"}),
])
def test_server_errors_send_the_routes_envelope(yahoo: FakeYahooServer,
                                                session: YahooRoutingSession, fault: Fault,
                                                status: int, error: dict[str, str]) -> None:
    yahoo.inject(fault, route=["quoteSummary", "quote"])
    response = summary(session)
    assert response.status_code == status and response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"quoteSummary": {"result": None, "error": error}}
    assert quote(session, "AAPL").json() == {"quoteResponse": {"result": None, "error": error}}


@pytest.mark.parametrize(("fault", "status", "content_type", "text"), [
    (Fault.server_error(502, body="<html>Bad Gateway</html>"), 502, JSON_TYPE, "Bad Gateway"),
    (Fault.status(418, "teapot", content_type="text/plain"), 418, "text/plain", "teapot"),
    (Fault.status(200, {"quoteSummary": {"result": [{}], "error": None}}), 200, JSON_TYPE,
     '{"quoteSummary": {"result": [{}], "error": null}}'),
    (Fault.status(403, b"\x00forbidden", headers={"X-Why": "test"}), 403, JSON_TYPE,
     "\x00forbidden"),
    (Fault.status_code(404), 404, JSON_TYPE, "HTTP 404 Not Found"),
    (Fault.invalid_crumb(), 401, JSON_TYPE, "Invalid Crumb"),
])
def test_status_faults_answer_as_configured(yahoo: FakeYahooServer, session: YahooRoutingSession,
                                            fault: Fault, status: int, content_type: str,
                                            text: str) -> None:
    yahoo.inject(fault, route="quoteSummary")
    response = summary(session)
    assert response.status_code == status and response.headers["content-type"] == content_type
    assert text in response.text or text == json.dumps(response.json())
    assert yahoo.requests[-1].fault == fault.kind


def test_a_status_fault_can_add_headers(yahoo: FakeYahooServer,
                                        session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.status(403, headers={"X-Why": "test"}), route="quoteSummary")
    assert summary(session).headers["X-Why"] == "test"


def test_malformed_json_does_not_parse(yahoo: FakeYahooServer,
                                       session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.malformed_json(), route="quoteSummary")
    response = summary(session)
    assert response.status_code == 200 and response.headers["content-type"] == JSON_TYPE
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_slow_answers_after_the_delay_or_times_the_client_out(yahoo: FakeYahooServer) -> None:
    yahoo.inject(Fault.slow(0.1), route="quoteSummary")
    with yahoo.session(timeout_s=0.3) as client:
        started = time.monotonic()
        assert summary(client).status_code == 200
        assert time.monotonic() - started >= 0.1
    with yahoo.session(timeout_s=0.05) as impatient, pytest.raises(curl_exc.Timeout):
        summary(impatient)


def test_a_hang_times_the_client_out_and_stop_releases_it(yahoo: FakeYahooServer) -> None:
    yahoo.inject(Fault.hang(), route="quoteSummary")
    with yahoo.session(timeout_s=0.2) as client, pytest.raises(curl_exc.Timeout):
        summary(client)
    assert (yahoo.requests[-1].status, yahoo.requests[-1].fault) == (None, "hang")
    started = time.monotonic()
    yahoo.stop()
    assert time.monotonic() - started < 1


def test_a_hang_closes_the_connection_after_the_hang_limit() -> None:
    with FakeYahooServer(hang_limit_s=0.1) as server, server.session(timeout_s=2) as client:
        server.inject(Fault.hang(), route="crumb")
        started = time.monotonic()
        with pytest.raises(curl_exc.ConnectionError):
            client.get(CRUMB)
        assert time.monotonic() - started < 1


def test_a_reset_on_a_reused_connection_fails_the_request(yahoo: FakeYahooServer,
                                                          session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.connection_reset(), route="quoteSummary", times=1)
    with pytest.raises(curl_exc.ConnectionError, match="reset"):
        summary(session)  # the crumb request opened the connection; libcurl must not retry
    assert [(r.route, r.status, r.fault) for r in yahoo.requests] == [
        ("crumb", 200, None), ("quoteSummary", None, "connection_reset")]
    assert summary(session).status_code == 200  # the session recovers with a new connection


def test_a_reset_on_a_fresh_connection_fails_the_request(yahoo: FakeYahooServer) -> None:
    yahoo.inject(Fault.connection_reset(), route="crumb", times=1)
    with yahoo.session() as client, pytest.raises(curl_exc.ConnectionError):
        client.get(CRUMB)
    assert yahoo.count() == 1


def test_empty_result_per_route(yahoo: FakeYahooServer, session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.empty_result(), route="quoteSummary", symbols=["AAPL"])
    yahoo.inject(Fault.empty_result(), route="quote", symbols=["MSFT"])
    yahoo.inject(Fault.empty_result(), route="timeseries")
    assert summary(session).json() == {"quoteSummary": {"result": [], "error": None}}
    assert summary(session, "MSFT").status_code == 200
    assert v7_symbols(quote(session, "AAPL,MSFT,QQQ")) == ["AAPL", "QQQ"]
    assert session.get(TS.format("AAPL")).json() == {"timeseries": {"result": [], "error": None}}
    yahoo.clear_faults()
    yahoo.inject(Fault.empty_result(), route="quote")  # no symbols filter: all of them
    assert v7_symbols(quote(session, "AAPL,MSFT")) == []


def test_not_found_per_route(yahoo: FakeYahooServer, session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.not_found(), symbols=["MSFT"])
    assert summary(session, "MSFT").json()["quoteSummary"]["error"]["description"] == \
        "Quote not found for symbol: MSFT"
    assert v7_symbols(quote(session, "AAPL,MSFT")) == ["AAPL"]
    item = session.get(TS.format("MSFT"), params={"type": "trailingPegRatio"}).json()
    assert item["timeseries"]["result"] == [
        {"meta": {"symbol": ["MSFT"], "type": ["trailingPegRatio"]}}]


def test_per_symbol_faults_leave_the_handshake_alone(yahoo: FakeYahooServer,
                                                     session: YahooRoutingSession) -> None:
    rule = yahoo.inject(Fault.not_found(), times=1)
    assert session.get("https://fc.yahoo.com").status_code == 200
    assert len(crumb(session)) == 11 and rule.times == 1  # not used up by the handshake
    assert summary(session).status_code == 404 and rule.times == 0


# --- rules ----------------------------------------------------------------------------------------

def test_times_limits_a_rule_and_remove_drops_it(yahoo: FakeYahooServer,
                                                 session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.server_error(), route="quoteSummary", times=2)
    assert [summary(session).status_code for _ in range(3)] == [500, 500, 200]
    rule = yahoo.inject(Fault.server_error(), route="quoteSummary")
    twin = yahoo.inject(Fault.server_error(), route="quoteSummary")
    rule.remove()
    assert summary(session).status_code == 500  # an identical rule stays
    twin.remove()
    twin.remove()  # removing twice is harmless
    assert summary(session).status_code == 200


def test_clear_faults_drops_every_rule(yahoo: FakeYahooServer,
                                       session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.server_error(), route="any")
    yahoo.clear_faults()
    assert summary(session).status_code == 200


def test_symbol_filters_rule_order_and_whole_request_failures(
    yahoo: FakeYahooServer, session: YahooRoutingSession,
) -> None:
    yahoo.inject(Fault.invalid_crumb(), route="quoteSummary", symbols=["msft"])
    yahoo.inject(Fault.server_error(502), route=["quoteSummary", "quote"], symbols=["AAPL", "QQQ"])
    assert summary(session, "MSFT").status_code == 401
    assert summary(session, "AAPL").status_code == 502
    assert summary(session, "IBM").status_code == 200
    assert quote(session, "IBM,QQQ").status_code == 502  # one matching symbol fails the batch
    assert quote(session, "IBM").status_code == 200


def outcomes(seed: int) -> list[int]:
    with FakeYahooServer(seed=seed) as server, server.session(timeout_s=2) as client:
        server.inject(Fault.server_error(), route="quoteSummary", probability=0.3)
        token = client.get(CRUMB).text
        return [client.get(QS.format("AAPL"), params={"modules": "price", "crumb": token})
                .status_code for _ in range(50)]


def test_probabilities_are_deterministic_from_the_seed() -> None:
    first = outcomes(seed=4)
    assert first == outcomes(seed=4)
    assert first != outcomes(seed=5)
    assert 5 <= first.count(500) <= 25 and set(first) == {200, 500}


@pytest.mark.parametrize(("kwargs", "bad"), [
    ({"route": "quotes"}, "quotes"), ({"route": []}, "none"), ({"route": ["quote", "x"]}, "x"),
    ({"probability": 1.5}, "1.5"), ({"probability": -0.1}, "-0.1"),
    ({"probability": math.nan}, "nan"), ({"times": 0}, "0"), ({"times": -2}, "-2"),
    ({"times": 1.5}, "1.5"), ({"symbols": []}, r"\[\]"),
])
def test_bad_rules_name_the_bad_value(yahoo: FakeYahooServer, kwargs: dict[str, Any],
                                      bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        yahoo.inject(Fault.server_error(), **kwargs)


def test_inject_needs_a_fault(yahoo: FakeYahooServer) -> None:
    with pytest.raises(TypeError, match="Fault"):
        yahoo.inject(500)  # type: ignore[arg-type]


@pytest.mark.parametrize(("make", "bad"), [
    (lambda: Fault.slow(-1), "-1"), (lambda: Fault.slow(math.inf), "inf"),
    (lambda: Fault.status(99), "99"), (lambda: Fault.status(600), "600"),
    (lambda: Fault.server_error(404), "404"), (lambda: Fault.rate_limited(-3), "-3"),
    (lambda: FakeYahooServer(latency_s=-0.5), "-0.5"),
    (lambda: FakeYahooServer(hang_limit_s=0), "0"),
])
def test_bad_faults_and_settings_name_the_bad_value(make: Any, bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        make()


# --- log, life cycle, routing ------------------------------------------------------------------------

def test_the_log_counts_by_route_symbol_and_status(yahoo: FakeYahooServer,
                                                   session: YahooRoutingSession) -> None:
    summary(session)
    summary(session, "NOSUCH")
    quote(session, "AAPL,NOSUCH")
    assert yahoo.count(route="crumb") == 3
    assert yahoo.count(route="quoteSummary") == 2
    assert yahoo.count(symbol="nosuch") == 2
    assert yahoo.count(symbol="NOSUCH", status=404) == 1
    assert yahoo.count(route="quote", symbol="AAPL", status=200) == 1
    record = yahoo.requests[1]
    assert (record.route, record.method, record.host, record.path, record.symbols,
            record.status, record.fault, record.crumb_ok) == (
        "quoteSummary", "GET", "query2.finance.yahoo.com", "/v10/finance/quoteSummary/AAPL",
        ("AAPL",), 200, None, True)
    snapshot = yahoo.requests
    snapshot.clear()
    assert yahoo.count() == 6  # the snapshot was a copy
    yahoo.reset_log()
    assert yahoo.count() == 0 and yahoo.requests == []


def test_two_servers_run_side_by_side() -> None:
    with FakeYahooServer(seed=1) as one, FakeYahooServer(seed=1) as two:
        assert one.base_url != two.base_url
        one.inject(Fault.server_error(), route="any")
        with one.session() as first, two.session() as second:
            assert first.get(CRUMB).status_code == 500
            assert second.get(CRUMB).status_code == 200
        assert one.count() == 1 and two.count() == 1


def test_stop_cuts_open_connections_and_start_stop_are_idempotent() -> None:
    server = FakeYahooServer()
    assert server.start() is server.start()
    with server.session() as client:
        assert client.get(CRUMB).status_code == 200  # a keep-alive connection is now open
        server.stop()
        server.stop()
        with pytest.raises(curl_exc.ConnectionError):
            client.get(CRUMB)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_server_listens_on_the_port_it_is_given() -> None:
    port = free_port()
    with FakeYahooServer(port=port) as yahoo, yahoo.session() as client:
        assert yahoo.base_url == f"http://127.0.0.1:{port}"
        assert client.get(CRUMB).status_code == 200


def test_a_taken_port_fails_to_start() -> None:
    with FakeYahooServer() as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            FakeYahooServer(port=port).start()


@pytest.mark.parametrize("port", [-1, 65536, 1.5, True])
def test_a_bad_port_names_the_bad_value(port: Any) -> None:
    with pytest.raises(ValueError, match=str(port)):
        FakeYahooServer(port=port)


def test_base_url_needs_a_running_server() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = FakeYahooServer().base_url


def test_a_broken_body_source_answers_500_naming_the_error(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(YahooBodyGenerator):
        def quote(self, symbol: str) -> dict[str, Any]:
            raise KeyError(symbol)

    with FakeYahooServer(bodies=Broken()) as server, server.session() as client:
        response = quote(client, "AAPL")
    assert response.status_code == 500 and "KeyError('AAPL')" in response.text
    assert "answering GET /v7/finance/quote" in caplog.text


def test_the_routing_session_is_a_curl_cffi_session_for_yahoo_hosts_only(
    yahoo: FakeYahooServer,
) -> None:
    with yahoo.session() as client:
        assert isinstance(client, curl_requests.Session)
        client.get("https://yahoo.com/", headers={"X-Caller": "kept"})  # merged, not replaced
        client.get(f"{yahoo.base_url}/v1/test/getcrumb")  # not Yahoo: passes unchanged
    assert [(r.host, r.route) for r in yahoo.requests] == [("yahoo.com", "cookie"),
                                                           ("", "crumb")]


def test_the_routing_session_caps_a_callers_longer_timeout(yahoo: FakeYahooServer) -> None:
    yahoo.inject(Fault.hang(), route="crumb")
    with yahoo.session(timeout_s=0.1) as client, pytest.raises(curl_exc.Timeout):
        client.get(CRUMB, timeout=30)  # yfinance always passes 30 s


@requires_fixtures
def test_recorded_bodies_can_be_served(session: YahooRoutingSession) -> None:
    with FakeYahooServer(bodies=RecordedYahooBodies()) as server, server.session() as client:
        result = summary(client, "AAPL", "price,summaryDetail").json()["quoteSummary"]["result"]
        assert result[0] == {m: recorded_quote_summary("AAPL")[m]
                             for m in ("price", "summaryDetail")}
        assert summary(client, "MSFT").status_code == 404  # no recording: not found


# --- the real libraries against it -------------------------------------------------------------------

def test_yfinance_info_reads_the_fake(yahoo: FakeYahooServer) -> None:
    yahoo.bodies.set_price("AAPL", 187.25)  # type: ignore[attr-defined]
    generator = YahooBodyGenerator(seed=2)
    generator.set_price("AAPL", 187.25)
    info = yfinance_info(private_yfinance(yahoo), "AAPL")
    expected = generator.quote_summary("AAPL", ["assetProfile", "summaryDetail"])
    assert info["regularMarketPrice"] == info["currentPrice"] == 187.25
    assert info["sector"] == expected["assetProfile"]["sector"]
    # v7 is laid over the modules: the dividend yield arrives in percent
    assert info["dividendYield"] == round(expected["summaryDetail"]["dividendYield"] * 100, 2)
    assert info["trailingPegRatio"] == generator.timeseries("AAPL", ["trailingPegRatio"])[
        "trailingPegRatio"][0]["reportedValue"]["raw"]
    routes = [r.route for r in yahoo.requests]
    assert routes == ["cookie", "cookie", "crumb", "quoteSummary", "cookie", "quote", "cookie",
                      "timeseries"]
    assert all(r.crumb_ok for r in yahoo.requests if r.route in ("quoteSummary", "quote"))


def test_yfinance_falls_back_to_the_consent_flow_after_a_401(yahoo: FakeYahooServer) -> None:
    yahoo.inject(Fault.invalid_crumb(), route="quoteSummary", times=1)
    info = yfinance_info(private_yfinance(yahoo), "MSFT")
    assert info["sector"] and info["regularMarketPrice"] > 0
    assert yahoo.count(route="consent") == 3
    crumbs = [r.host for r in yahoo.requests if r.route == "crumb"]
    assert crumbs == ["query1.finance.yahoo.com", "query2.finance.yahoo.com"]
    assert [r.status for r in yahoo.requests if r.route == "quoteSummary"] == [401, 200]


def test_yfinance_info_of_an_unknown_symbol_is_nearly_empty(yahoo: FakeYahooServer) -> None:
    assert yfinance_info(private_yfinance(yahoo), "NOSUCH") == {"trailingPegRatio": None}
    assert yahoo.count(route="quoteSummary", symbol="NOSUCH", status=404) == 2  # one retry


def test_yahooquery_modules_and_batched_quotes_read_the_fake(yahoo: FakeYahooServer) -> None:
    from yahooquery import Ticker

    ticker = Ticker(["AAPL", "MSFT", "NOSUCH"], session=yahoo.session(timeout_s=5))
    assert [r.route for r in yahoo.requests] == ["crumb"]  # the constructor fetches a crumb
    modules = ticker.get_modules(["price", "summaryDetail"])
    generator = YahooBodyGenerator(seed=2)
    for symbol in ("AAPL", "MSFT"):
        assert set(modules[symbol]) == {"price", "summaryDetail"}
        assert modules[symbol]["price"]["regularMarketPrice"] == \
            generator.quote(symbol)["regularMarketPrice"]
    assert modules["NOSUCH"] == "Quote not found for symbol: NOSUCH"
    assert yahoo.count(route="quoteSummary") == 3  # one request per symbol
    quotes = ticker.quotes
    assert set(quotes) == {"AAPL", "MSFT"}
    assert quotes["AAPL"]["dividendYield"] == round(
        modules["AAPL"]["summaryDetail"]["dividendYield"] * 100, 2)
    (batch,) = [r for r in yahoo.requests if r.route == "quote"]
    assert batch.symbols == ("AAPL", "MSFT", "NOSUCH") and batch.host == "query2.finance.yahoo.com"
