"""Chunks cut to the upstream's pace: sizes follow the rate, never-sent symbols go back in line."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from resilient_provider import DataSource, FetchResult
from resilient_provider.errors import ProviderUnavailableError, ThrottledError
from resilient_provider.result import Attempt
from resilient_provider.strategy.batch import NoProgress, run_chunks
from resilient_provider.strategy.chunk_feed import MAX_REQUEUES, PacedChunks, never_sent
from resilient_provider.testing import make_info


class Pace:
    """A budget's pace, set by the test."""

    def __init__(self, rate_per_s: float, requests_per_symbol: float = 1.0) -> None:
        self.rate_per_s = rate_per_s
        self.per_symbol = requests_per_symbol

    def requests_per_symbol(self, *, default: float) -> float:
        return self.per_symbol


def served(symbol: str) -> FetchResult:
    return FetchResult(symbol=symbol, source=DataSource.PRIMARY, data=make_info(symbol),
                       attempts=(Attempt("yfinance", "success", "served"),))


def refused_by_our_pacing(symbol: str) -> FetchResult:
    attempts = (*(Attempt(p, "skipped", "no slot within the deadline", ThrottledError.code)
                  for p in ("yfinance", "yahooquery")), Attempt("cache", "miss", "no entry"))
    return FetchResult(symbol=symbol, source=DataSource.ERROR, attempts=attempts,
                       error=ThrottledError("no slot"))


def symbols(n: int) -> list[str]:
    return [f"S{i:03d}" for i in range(n)]


@pytest.mark.parametrize(("rate", "size", "at_once"), [
    (2.0, 30, 1),     # 2 symbols/s: 30 fit in half the 30 s deadline
    (0.2, 3, 1),
    (0.01, 1, 1),     # never less than one symbol
    (4.0, 50, 1),     # 60 would fit alone: capped at max_size
    (8.0, 50, 2),     # two full chunks fit together in half the deadline
    (100.0, 50, 2),
])
def test_chunks_are_sized_to_the_pace_now(rate: float, size: int, at_once: int) -> None:
    feed = PacedChunks(symbols(500), Pace(rate), max_size=50, deadline_s=30)
    assert feed.sizing(rate) == (size, at_once)
    chunk = feed.take(0)
    assert chunk is not None and len(chunk) == size
    assert (feed.take(1) is not None) is (at_once == 2)


def test_requests_per_symbol_slow_the_symbols_per_second() -> None:
    feed = PacedChunks(symbols(100), Pace(4.0, requests_per_symbol=2.0), max_size=50,
                       deadline_s=30)
    assert feed.take(0) == symbols(30)  # 2 symbols/s


def test_a_chunk_is_cut_at_the_rate_of_the_moment_it_starts() -> None:
    pace = Pace(2.0)
    feed = PacedChunks(symbols(100), pace, max_size=50, deadline_s=30)
    first = feed.take(0)
    pace.rate_per_s = 1.0  # cut by a 429 meanwhile
    second = feed.take(0)
    assert first is not None and second is not None
    assert (len(first), len(second)) == (30, 15)
    assert first + second == symbols(45)  # in order, each symbol once


def test_symbols_our_pacing_refused_go_back_in_line_a_bounded_number_of_times() -> None:
    feed = PacedChunks(["A", "B"], Pace(100.0), max_size=50, deadline_s=30)
    assert feed.take(0) == ["A", "B"]
    final = feed.settle({"A": served("A"), "B": refused_by_our_pacing("B")})
    assert list(final) == ["A"] and not feed.exhausted()
    for _ in range(MAX_REQUEUES - 1):
        assert feed.take(0) == ["B"]
        assert feed.settle({"B": refused_by_our_pacing("B")}) == {}
    assert feed.take(0) == ["B"]
    last = feed.settle({"B": refused_by_our_pacing("B")})
    assert last["B"].source is DataSource.ERROR and feed.exhausted()


def test_only_symbols_no_request_went_out_for_count_as_never_sent() -> None:
    assert never_sent(refused_by_our_pacing("A"))
    assert not never_sent(served("A"))
    sent_then_refused = FetchResult(
        symbol="A", source=DataSource.ERROR, error=ThrottledError("no slot"),
        attempts=(Attempt("yfinance", "skipped", "no slot", ThrottledError.code, retries=1),))
    assert not never_sent(sent_then_refused)  # its first attempt went out and drew a 429
    failed = FetchResult(
        symbol="A", source=DataSource.ERROR, error=ProviderUnavailableError("HTTP 503"),
        attempts=(Attempt("yfinance", "error", "HTTP 503", "server_error"),
                  Attempt("yahooquery", "skipped", "no slot", ThrottledError.code)))
    assert not never_sent(failed)
    cache_only = FetchResult(symbol="A", source=DataSource.ERROR,
                             error=ProviderUnavailableError("none"),
                             attempts=(Attempt("cache", "miss", "no entry"),))
    assert not never_sent(cache_only)


def test_a_batch_run_on_paced_chunks_answers_every_symbol_once() -> None:
    refused_once: set[str] = set()

    def run_chunk(chunk: list[str]) -> Mapping[str, FetchResult]:
        answers = {}
        for symbol in chunk:
            if symbol.endswith("7") and symbol not in refused_once:
                refused_once.add(symbol)
                answers[symbol] = refused_by_our_pacing(symbol)
            else:
                answers[symbol] = served(symbol)
        return answers

    feed = PacedChunks(symbols(100), Pace(3.0), max_size=25, deadline_s=30)
    results = run_chunks(feed, run_chunk, workers=2, progress=NoProgress())
    assert sorted(results) == symbols(100)
    assert all(r.source is DataSource.PRIMARY for r in results.values())
    assert len(refused_once) == 10
