"""The yfinance adapter's batched path: one quoteSummary per symbol, one v7 quote per 50 symbols,
and every dict the one yfinance's own ``Quote(data, symbol).info`` builds from the same bodies.

The reference is the real ``.info`` over a private ``YfData`` of yfinance's own, against the same
fake Yahoo, passed through our ``canonical_units`` (the one step the adapter adds).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from yfinance.data import SingletonMeta, YfData
from yfinance.scrapers.quote import Quote

from resilient_provider.errors import ServerError, SymbolNotFoundError
from resilient_provider.providers.canonical import CORE_FIELDS
from resilient_provider.providers.yahoo_info import canonical_units
from resilient_provider.providers.yfinance import YFinanceProvider
from resilient_provider.testing import FakeYahooServer, Fault
from tests.yahoo_fixtures import RECORDED_PAIRS, RecordedYahooBodies, requires_fixtures

from .conftest import Adapter

MakeAdapter = Callable[..., Adapter]
#: Generated bodies of every quote type the fake knows, and an unknown symbol.
MIXED = ["AAPL", "MSFT", "QQQ", "SPY", "EURUSD=X", "BTC-USD", "^GSPC", "GC=F", "0P000071W8.TO", "NOSUCH"]


class _Fresh(SingletonMeta):  # type: ignore[misc]
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - a metaclass method
        return type.__call__(cls, *args, **kwargs)


class _PlainYfData(YfData, metaclass=_Fresh):  # type: ignore[misc]
    """yfinance's YfData, unchanged but not the process-wide singleton."""


def info_as_yfinance_builds_it(yahoo: FakeYahooServer, symbols: list[str]) -> dict[str, Any]:
    """``Quote(data, symbol).info`` (three requests per symbol) + ``canonical_units``."""
    data = _PlainYfData(session=yahoo.session(timeout_s=5))
    try:
        built: dict[str, Any] = {}
        for symbol in symbols:
            info = Quote(data, symbol).info
            entry = yahoo.bodies.quote(symbol) if symbol != "NOSUCH" else None
            built[symbol] = canonical_units(info, quote_keys=frozenset(entry or ()))
        return built
    finally:
        data._session.close()


def assert_same_dicts(ours: Any, reference: dict[str, Any]) -> None:
    assert isinstance(ours, dict)
    assert list(ours) == list(reference)  # same keys, in the same order
    assert ours == reference
    assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in reference.items()}


def test_a_call_sends_one_quote_summary_per_symbol_and_one_quote_per_50(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    symbols = [f"T{i:03d}" for i in range(120)]
    answers = make_adapter("yfinance", max_workers=8).fetch_info(symbols)
    assert all(isinstance(answers[s], dict) for s in symbols)
    assert all(yahoo.count(route="quoteSummary", symbol=s) == 1 for s in symbols)
    assert yahoo.count(route="quote") == math.ceil(120 / 50)
    assert yahoo.count(route="timeseries") == 0


def test_each_dict_is_the_one_yfinance_info_builds(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    known = [s for s in MIXED if s != "NOSUCH"]
    answers = make_adapter("yfinance", trailing_peg_ratio=True).fetch_info(MIXED)
    reference = info_as_yfinance_builds_it(yahoo, known)
    for symbol in known:
        assert_same_dicts(answers[symbol], reference[symbol])
    assert isinstance(answers["NOSUCH"], SymbolNotFoundError)


def test_without_the_timeseries_only_trailing_peg_ratio_differs(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    answers = make_adapter("yfinance").fetch_info(["AAPL", "QQQ"])
    reference = info_as_yfinance_builds_it(yahoo, ["AAPL", "QQQ"])
    assert isinstance(reference["AAPL"]["trailingPegRatio"], float)  # the fake has one
    for symbol in ("AAPL", "QQQ"):
        assert_same_dicts(answers[symbol], {**reference[symbol], "trailingPegRatio": None})


def test_trailing_peg_ratio_sends_the_timeseries_request_and_fills_the_field(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    info = make_adapter("yfinance", trailing_peg_ratio=True).fetch_info(["AAPL"])["AAPL"]
    assert isinstance(info, dict) and isinstance(info["trailingPegRatio"], float)
    assert yahoo.count(route="timeseries", symbol="AAPL") == 1


def test_by_default_no_timeseries_request_and_the_key_stays(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    info = make_adapter("yfinance").fetch_info(["AAPL"])["AAPL"]
    assert isinstance(info, dict) and info["trailingPegRatio"] is None
    assert set(CORE_FIELDS) <= set(info)
    assert yahoo.count(route="timeseries") == 0


def test_a_failed_quote_chunk_sinks_no_symbol_whose_quote_summary_answered(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    # The fake fails every v7 request that names MSFT: the chunk's, then MSFT's own. The others
    # ask their own v7 quote, as .info does, and end up with the full dict.
    yahoo.inject(Fault.server_error(503), route="quote", symbols=["MSFT"])
    symbols = ["AAPL", "MSFT", "QQQ"]
    answers = make_adapter("yfinance").fetch_info(symbols)
    yahoo.clear_faults()
    reference = info_as_yfinance_builds_it(yahoo, ["AAPL", "QQQ"])
    for symbol in ("AAPL", "QQQ"):
        assert_same_dicts(answers[symbol], {**reference[symbol], "trailingPegRatio": None})
    assert isinstance(answers["MSFT"], ServerError) and answers["MSFT"].status == 503


def test_a_one_symbol_call_whose_quote_fails_is_classified_as_before(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    # The chunk request is the symbol's own: no second v7 request, a v7 5xx fails it as it
    # failed .info (and sends the call on to the next provider).
    yahoo.inject(Fault.server_error(503), route="quote")
    answer = make_adapter("yfinance").fetch_info(["AAPL"])["AAPL"]
    assert isinstance(answer, ServerError) and answer.status == 503
    assert yahoo.count(route="quote", status=503) == 2  # the request and yfinance's own retry


def test_a_known_symbol_left_out_of_the_chunk_answer_is_asked_alone(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    # Yahoo's multi-symbol v7 has dropped symbols it answers one by one.
    yahoo.inject(Fault.empty_result(), route="quote", symbols=["MSFT"], times=1)
    answers = make_adapter("yfinance").fetch_info(["AAPL", "MSFT"])
    reference = info_as_yfinance_builds_it(yahoo, ["MSFT"])
    assert_same_dicts(answers["MSFT"], {**reference["MSFT"], "trailingPegRatio": None})


def test_an_unknown_symbol_is_not_asked_again(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    answers = make_adapter("yfinance").fetch_info(["AAPL", "NOSUCH"])
    assert isinstance(answers["NOSUCH"], SymbolNotFoundError)
    assert yahoo.count(route="quote") == 1


def test_a_repeated_symbol_is_fetched_once(
    make_adapter: MakeAdapter, yahoo: FakeYahooServer
) -> None:
    answers = make_adapter("yfinance").fetch_info(["AAPL", "MSFT", "AAPL"])
    assert list(answers) == ["AAPL", "MSFT"]
    assert yahoo.count(route="quoteSummary", symbol="AAPL") == 1


@pytest.fixture(scope="module")
def recorded_yahoo() -> Iterator[FakeYahooServer]:
    with FakeYahooServer(bodies=RecordedYahooBodies()) as yahoo:
        yield yahoo


@requires_fixtures
def test_on_recorded_responses_each_dict_is_the_one_yfinance_info_builds(
    recorded_yahoo: FakeYahooServer,
) -> None:
    symbols = [*RECORDED_PAIRS, "ABBV", "OCDO.L"]  # the last two: no recorded v7 quote
    adapter = YFinanceProvider(base_url=recorded_yahoo.base_url, timeout_s=5,
                               trailing_peg_ratio=True)
    try:
        answers = adapter.fetch_info(symbols)
    finally:
        adapter.close()
    reference = info_as_yfinance_builds_it(recorded_yahoo, symbols)
    for symbol in symbols:
        assert_same_dicts(answers[symbol], reference[symbol])
