"""The fake Yahoo from the client's side: routes, crumb, faults, log — over real curl_cffi."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from curl_cffi.requests import exceptions as curl_exc

from resilient_provider.testing import FakeYahooServer, Fault, YahooRoutingSession

QS = "https://query2.finance.yahoo.com/v10/finance/quoteSummary/{}"
V7 = "https://query1.finance.yahoo.com/v7/finance/quote"
CRUMB = "https://query1.finance.yahoo.com/v1/test/getcrumb"


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


def summary(session: YahooRoutingSession, symbol: str = "AAPL", modules: str = "price",
            **params: str) -> object:
    return session.get(QS.format(symbol), params={"modules": modules, "formatted": "false",
                                                  "crumb": crumb(session), **params})


def test_the_handshake_sets_a_cookie_and_issues_crumbs(session: YahooRoutingSession) -> None:
    response = session.get("https://fc.yahoo.com")
    assert response.status_code == 200 and "A3" in response.headers.get("set-cookie", "")
    first, second = crumb(session), crumb(session)
    assert len(first) == 11 and first != second


def test_quote_summary_answers_only_the_requested_modules(session: YahooRoutingSession) -> None:
    response = summary(session, modules="price,summaryDetail,earnings")
    assert response.status_code == 200  # type: ignore[attr-defined]
    result = response.json()["quoteSummary"]["result"][0]  # type: ignore[attr-defined]
    assert set(result) == {"price", "summaryDetail"}  # no earnings module is generated
    assert result["price"]["symbol"] == "AAPL"


def test_an_unknown_symbol_gets_yahoos_404(session: YahooRoutingSession) -> None:
    response = summary(session, "NOSUCH")
    assert response.status_code == 404  # type: ignore[attr-defined]
    error = response.json()["quoteSummary"]["error"]  # type: ignore[attr-defined]
    assert error == {"code": "Not Found", "description": "Quote not found for symbol: NOSUCH"}


def test_a_module_a_symbol_lacks_gets_the_no_fundamentals_404(
    session: YahooRoutingSession,
) -> None:
    response = summary(session, "EURUSD=X", modules="financialData")
    assert response.status_code == 404  # type: ignore[attr-defined]
    assert "No fundamentals data found" in response.text  # type: ignore[attr-defined]


def test_v7_batches_symbols_and_leaves_unknown_ones_out(session: YahooRoutingSession) -> None:
    response = session.get(V7, params={"symbols": "AAPL,NOSUCH,MSFT", "crumb": crumb(session)})
    result = response.json()["quoteResponse"]["result"]
    assert [entry["symbol"] for entry in result] == ["AAPL", "MSFT"]


def test_data_routes_need_a_valid_crumb(yahoo: FakeYahooServer,
                                        session: YahooRoutingSession) -> None:
    missing = session.get(QS.format("AAPL"), params={"modules": "price"})
    assert missing.status_code == 401 and "Invalid Crumb" in missing.text
    assert summary(session).status_code == 200  # type: ignore[attr-defined]
    old = crumb(session)
    yahoo.expire_crumbs()
    stale = session.get(QS.format("AAPL"), params={"modules": "price", "crumb": old})
    assert stale.status_code == 401


def test_timeseries_needs_no_crumb(session: YahooRoutingSession) -> None:
    response = session.get("https://query1.finance.yahoo.com/ws/fundamentals-timeseries/v1/"
                           "finance/timeseries/AAPL", params={"type": "trailingPegRatio"})
    item = response.json()["timeseries"]["result"][0]
    assert item["meta"]["symbol"] == ["AAPL"] and "trailingPegRatio" in item


def test_rate_limited_sends_yahoos_text_and_retry_after(
    yahoo: FakeYahooServer, session: YahooRoutingSession
) -> None:
    yahoo.inject(Fault.rate_limited(retry_after_s=9), route="quoteSummary")
    response = summary(session)
    assert response.status_code == 429  # type: ignore[attr-defined]
    assert response.headers["Retry-After"] == "9"  # type: ignore[attr-defined]
    assert response.text == "Too Many Requests\r\n"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("fault", "status", "text"), [
    (Fault.server_error(503), 503, "Internal Server Error"),
    (Fault.invalid_crumb(), 401, "Invalid Crumb"),
    (Fault.status_code(418, "teapot", content_type="text/plain"), 418, "teapot"),
])
def test_status_faults(yahoo: FakeYahooServer, session: YahooRoutingSession, fault: Fault,
                       status: int, text: str) -> None:
    yahoo.inject(fault, route="quoteSummary")
    response = summary(session)
    assert response.status_code == status and text in response.text  # type: ignore[attr-defined]


def test_malformed_json_does_not_parse(yahoo: FakeYahooServer,
                                       session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.malformed_json(), route="quoteSummary")
    response = summary(session)
    assert response.status_code == 200  # type: ignore[attr-defined]
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)  # type: ignore[attr-defined]


def test_empty_and_not_found_faults(yahoo: FakeYahooServer,
                                    session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.empty_result(), route="quoteSummary", symbols=["AAPL"])
    yahoo.inject(Fault.not_found(), route="quote", symbols=["MSFT"])
    assert summary(session).json() == {"quoteSummary": {"result": [], "error": None}}  # type: ignore[attr-defined]
    result = session.get(V7, params={"symbols": "AAPL,MSFT", "crumb": crumb(session)}).json()
    assert [e["symbol"] for e in result["quoteResponse"]["result"]] == ["AAPL"]


def test_a_hang_times_the_client_out_and_stop_releases_it(yahoo: FakeYahooServer) -> None:
    yahoo.inject(Fault.hang(), route="quoteSummary")
    with yahoo.session(timeout_s=0.2) as client, pytest.raises(curl_exc.Timeout):
        summary(client)
    started = time.monotonic()
    yahoo.stop()
    assert time.monotonic() - started < 2


def test_a_reset_fails_the_connection(yahoo: FakeYahooServer,
                                      session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.connection_reset(), route="quoteSummary")
    with pytest.raises(curl_exc.RequestException):
        summary(session)
    assert yahoo.requests[-1].status is None and yahoo.requests[-1].fault == "connection_reset"


def test_slow_answers_after_the_delay(yahoo: FakeYahooServer,
                                      session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.slow(0.1), route="quoteSummary")
    started = time.monotonic()
    assert summary(session).status_code == 200  # type: ignore[attr-defined]
    assert time.monotonic() - started >= 0.1


def test_times_limits_a_rule_and_remove_drops_it(yahoo: FakeYahooServer,
                                                 session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.server_error(), route="quoteSummary", times=2)
    assert [summary(session).status_code for _ in range(3)] == [500, 500, 200]  # type: ignore[attr-defined]
    rule = yahoo.inject(Fault.server_error(), route="quoteSummary")
    rule.remove()
    assert summary(session).status_code == 200  # type: ignore[attr-defined]


def test_symbol_filters_and_rule_order(yahoo: FakeYahooServer,
                                       session: YahooRoutingSession) -> None:
    yahoo.inject(Fault.invalid_crumb(), route="quoteSummary", symbols=["msft"])
    yahoo.inject(Fault.server_error(502), route="any")
    assert summary(session, "MSFT").status_code == 401  # type: ignore[attr-defined]
    assert summary(session, "AAPL").status_code == 502  # type: ignore[attr-defined]


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
    assert 5 <= first.count(500) <= 25


@pytest.mark.parametrize(("kwargs", "bad"), [
    ({"route": "quotes"}, "quotes"), ({"probability": 1.5}, "1.5"), ({"times": 0}, "0"),
])
def test_bad_rules_name_the_bad_value(yahoo: FakeYahooServer, kwargs: dict[str, object],
                                      bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        yahoo.inject(Fault.server_error(), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="-1"):
        Fault.slow(-1)
    with pytest.raises(ValueError, match="404"):
        Fault.server_error(404)


def test_the_log_counts_by_route_symbol_and_status(yahoo: FakeYahooServer,
                                                   session: YahooRoutingSession) -> None:
    summary(session)
    summary(session, "NOSUCH")
    assert yahoo.count(route="crumb") == 2
    assert yahoo.count(route="quoteSummary") == 2
    assert yahoo.count(symbol="nosuch", status=404) == 1
    record = yahoo.requests[1]
    assert (record.host, record.path, record.crumb_ok) == (
        "query2.finance.yahoo.com", "/v10/finance/quoteSummary/AAPL", True)
    yahoo.reset_log()
    assert yahoo.count() == 0


def test_two_servers_run_side_by_side() -> None:
    with FakeYahooServer(seed=1) as one, FakeYahooServer(seed=1) as two:
        assert one.base_url != two.base_url
        one.inject(Fault.server_error(), route="any")
        with two.session() as client:
            assert client.get(CRUMB).status_code == 200
        assert one.count() == 0 and two.count() == 1


def test_non_yahoo_urls_are_not_rerouted(yahoo: FakeYahooServer) -> None:
    with yahoo.session() as client:
        response = client.get(f"{yahoo.base_url}/v1/test/getcrumb")
    assert response.status_code == 200 and yahoo.requests[-1].host == ""


def test_base_url_needs_a_running_server() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = FakeYahooServer().base_url
