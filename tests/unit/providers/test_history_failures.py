"""``fetch_history`` of both adapters against the fake Yahoo's chart route: every failure mode
through the real yfinance and yahooquery code, classified like info's; requests paced by the
gate; bad arguments refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import pytest

from resilient_provider.errors import (
    DataContractError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    SymbolNotFoundError,
)
from resilient_provider.history.bars import BAR_COLUMNS
from resilient_provider.testing import FakeYahooServer, Fault

from .conftest import Adapter

MakeAdapter = Callable[..., Adapter]
START = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)  # a Monday
END = dt.datetime(2024, 3, 9, tzinfo=dt.UTC)  # the Saturday after


def fetch_one(adapter: Adapter, symbol: str = "AAPL", *, start: dt.datetime = START,
              end: dt.datetime = END, interval: str = "1d") -> object:
    answer = adapter.fetch_history([symbol], start=start, end=end, interval=interval)
    assert set(answer) == {symbol}
    return answer[symbol]


def test_a_healthy_answer_is_one_request_and_a_canonical_frame(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    frame = fetch_one(make_adapter(adapter_name))
    assert isinstance(frame, pd.DataFrame)
    assert tuple(frame.columns) == BAR_COLUMNS and str(pd.DatetimeIndex(frame.index).tz) == "America/New_York"
    assert [d.strftime("%a") for d in frame.index] == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert yahoo.count(route="chart", symbol="AAPL") == 1


def test_many_symbols_in_one_call_get_their_own_frames(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    symbols = ["AAPL", "MSFT", "BTC-USD", "NOSUCH"]
    week = START + dt.timedelta(days=7)
    answers = make_adapter(adapter_name).fetch_history(symbols, start=START, end=week,
                                                      interval="1d")
    assert list(answers) == symbols
    assert isinstance(answers["NOSUCH"], SymbolNotFoundError)
    aapl, msft, btc = answers["AAPL"], answers["MSFT"], answers["BTC-USD"]
    assert isinstance(aapl, pd.DataFrame) and isinstance(msft, pd.DataFrame)
    assert isinstance(btc, pd.DataFrame)
    assert (len(aapl), len(btc)) == (5, 7)  # crypto trades 7 days a week
    assert not aapl.equals(msft)


def test_an_unknown_symbol_is_symbol_not_found(
    adapter_name: str, make_adapter: MakeAdapter
) -> None:
    error = fetch_one(make_adapter(adapter_name), "NOSUCH")
    assert isinstance(error, SymbolNotFoundError)
    assert "NOSUCH" in error.message and error.provider == adapter_name
    assert not error.counts_against_provider


def test_a_range_before_the_first_trade_is_an_empty_frame_not_an_error(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    # AAPL first traded 1980-12-12: Yahoo answers 400 "Data doesn't exist for startDate = …"
    frame = fetch_one(make_adapter(adapter_name), start=dt.datetime(1975, 1, 1, tzinfo=dt.UTC),
                      end=dt.datetime(1975, 2, 1, tzinfo=dt.UTC))
    assert isinstance(frame, pd.DataFrame) and frame.empty
    assert yahoo.count(route="chart", status=400) >= 1


def test_a_429_is_rate_limited(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.inject(Fault.rate_limited(retry_after_s=7), route="chart")
    error = fetch_one(make_adapter(adapter_name))
    assert isinstance(error, RateLimitError) and error.retry_after == 7
    assert yahoo.count(route="chart", fault="rate_limited") >= 1


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_is_a_server_error(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer, status: int
) -> None:
    yahoo.inject(Fault.server_error(status), route="chart")
    error = fetch_one(make_adapter(adapter_name))
    assert isinstance(error, ServerError) and error.counts_against_provider
    assert f"HTTP {status}" in error.message


def test_a_hang_is_a_timeout(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    yahoo.inject(Fault.hang(), route="chart")
    error = fetch_one(make_adapter(adapter_name, timeout_s=0.5))
    assert isinstance(error, ProviderTimeoutError)


@pytest.mark.parametrize("fault", [Fault.malformed_json(), Fault.garbage("wrong_symbol")],
                         ids=["malformed_json", "wrong_symbol"])
def test_a_body_that_is_not_this_symbols_chart_is_a_data_contract_failure(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer, fault: Fault
) -> None:
    yahoo.inject(fault, route="chart")
    assert isinstance(fetch_one(make_adapter(adapter_name)), DataContractError)


def test_a_recovered_chart_is_asked_again_not_served_from_a_library_cache(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    adapter = make_adapter(adapter_name)
    rule = yahoo.inject(Fault.server_error(500), route="chart")
    assert isinstance(fetch_one(adapter), ServerError)
    rule.remove()
    assert isinstance(fetch_one(adapter), pd.DataFrame)


class RecordingGate:
    """A gate that admits everything and remembers the routes it admitted."""

    def __init__(self) -> None:
        self.admitted: list[tuple[str, str]] = []
        self.settled: list[int | None] = []

    def admit(self, provider: str, route: str) -> object:
        self.admitted.append((provider, route))
        return object()

    def settle(self, ticket: object, *, status: int | None,
               retry_after_s: float | None = None) -> None:
        self.settled.append(status)


def test_every_chart_request_passes_the_upstream_gate(
    adapter_name: str, make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    adapter = make_adapter(adapter_name)
    gate = RecordingGate()
    adapter.bind_gate(gate)
    adapter.fetch_history(["AAPL", "MSFT"], start=START, end=END, interval="1d")
    assert gate.admitted.count((adapter_name, "chart")) == yahoo.count(route="chart") == 2
    assert len(gate.settled) == len(gate.admitted) == len(yahoo.requests)


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"start": dt.datetime(2024, 3, 4)}, "start"),  # naive
    ({"end": START}, "start must be before end"),
    ({"interval": "7m"}, "'7m'"),
])
def test_bad_arguments_are_refused_naming_the_value(
    adapter_name: str, make_adapter: MakeAdapter, kwargs: dict[str, object], named: str
) -> None:
    args: dict[str, object] = {"start": START, "end": END, "interval": "1d", **kwargs}
    with pytest.raises(ValueError, match=named):
        make_adapter(adapter_name).fetch_history(["AAPL"], **args)  # type: ignore[arg-type]
