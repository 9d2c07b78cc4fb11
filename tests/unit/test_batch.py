"""Batches through the façade: order, de-duplication, per-symbol fallback, bounds, frames."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resilient_provider import DataSource, FetchResult, InvalidSymbolError, ResilientProvider
from resilient_provider.cache import CacheEntry, MemoryCache
from resilient_provider.errors import RateLimitError, ServerError, SymbolNotFoundError
from resilient_provider.progress import PROGRESS_MIN_SYMBOLS, progress_bar
from resilient_provider.providers.protocol import InfoOrError
from resilient_provider.strategy.batch import (
    BatchTail,
    NoProgress,
    chunk_limit,
    plan_batch,
    run_chunks,
    split_evenly,
)
from resilient_provider.testing import FakeClock, Raise, ScriptedProvider, make_info
from tests.conftest import MakeFacade, fast_settings

DOWN = ServerError("HTTP 503")


class CountingCache(MemoryCache):
    """A memory cache that records which symbols each ``get_many`` asked for."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.get_many_calls: list[list[str]] = []

    def get_many(self, symbols: Sequence[str]) -> dict[str, CacheEntry]:
        self.get_many_calls.append(list(symbols))
        return super().get_many(symbols)


# --- what is asked -------------------------------------------------------------------------------


def test_results_come_back_in_input_order_keyed_as_given(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))
    results = facade.batch_fetch(["msft", " aapl ", "^GSPC", "BRK-B"])
    assert list(results) == ["msft", " aapl ", "^GSPC", "BRK-B"]
    assert [r.symbol for r in results.values()] == ["MSFT", "AAPL", "^GSPC", "BRK-B"]
    assert [r.ticker for r in results.values()] == ["msft", " aapl ", "^GSPC", "BRK-B"]


def test_duplicates_and_case_variants_are_fetched_once(make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one")
    facade = make_facade(primary, max_concurrent_requests=1)
    results = facade.batch_fetch(["AAPL", "aapl", "AAPL", " Aapl", "MSFT"])
    assert list(results) == ["AAPL", "aapl", " Aapl", "MSFT"]
    assert primary.calls == [["AAPL", "MSFT"]]
    assert results["aapl"].data == results["AAPL"].data
    assert facade.get_reliability_stats()["total_requests"] == 2


def test_invalid_symbols_are_reported_without_any_io(make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one")
    cache = CountingCache(FakeClock())
    facade = make_facade(primary, cache=cache)
    bad = ["../etc/passwd", "", "ſPY", "A" * 40, None, 3.5]
    results = facade.batch_fetch(bad)  # type: ignore[arg-type]  # not strings, on purpose
    assert primary.calls == [] and cache.get_many_calls == []
    assert list(results) == bad
    for key, result in results.items():
        assert result.source is DataSource.ERROR
        assert result.error is not None and result.error.code == "invalid_symbol"
        assert repr(key)[:20] in result.error.message or key == ""
    assert facade.get_reliability_stats()["total_requests"] == 0


def test_invalid_symbols_do_not_stop_the_valid_ones(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))
    info = facade.batch_get_ticker_info(["AAPL", "AAPL/../v7", "MSFT"])
    assert [i["_data_source"] for i in info.values()] == ["primary", "error", "primary"]
    assert info["AAPL/../v7"]["_error_code"] == "invalid_symbol"


def test_a_single_string_is_refused_rather_than_read_as_letters(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))
    with pytest.raises(InvalidSymbolError, match=r"'AAPL'.*wrap it in a list"):
        facade.batch_fetch("AAPL")


@pytest.mark.parametrize(("symbols", "message"), [
    (42, "iterable of strings, got int"),
    ([["AAPL"]], "unhashable list"),
])
def test_non_iterables_and_unhashable_items_are_type_errors(make_facade: MakeFacade, symbols: Any,
                                                             message: str) -> None:
    facade = make_facade(ScriptedProvider("one"))
    with pytest.raises(TypeError, match=message):
        facade.batch_fetch(symbols)


def test_an_empty_batch_is_an_empty_answer(make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one")
    assert make_facade(primary).batch_fetch([]) == {}
    assert primary.calls == []


def test_a_closed_facade_refuses_batches(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))
    facade.close()
    with pytest.raises(RuntimeError, match="closed"):
        facade.batch_fetch(["AAPL"])


# --- per-symbol fallback inside a batch ----------------------------------------------------------


def test_only_what_the_primary_failed_goes_on_and_only_what_is_missing_hits_the_cache(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", {"B": DOWN, "C": DOWN, "D": DOWN})
    secondary = ScriptedProvider("two", {"C": DOWN, "D": DOWN})
    cache = CountingCache(clock)
    cache.set("C", make_info("C"), fetched_at=clock() - 60, provider="one")
    facade = make_facade(primary, secondary, cache=cache, max_concurrent_requests=1,
                         provider_defaults={"retry": {"max_attempts": 1},
                                            "breaker": {"failure_threshold": 100}})
    results = facade.batch_fetch(["A", "B", "C", "D", "E"])
    assert primary.calls == [["A", "B", "C", "D", "E"]]
    assert secondary.calls == [["B", "C", "D"]]
    assert cache.get_many_calls == [["C", "D"]]
    assert {k: r.source.value for k, r in results.items()} == {
        "A": "primary", "B": "fallback", "C": "cache_fresh", "D": "error", "E": "primary"}


def test_read_through_serves_the_fresh_part_of_a_batch_from_one_read_before_any_call(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", {"D": DOWN})
    cache = CountingCache(clock)
    cache.set("A", make_info("A"), fetched_at=clock() - 60, provider="one")        # fresh
    cache.set("B", make_info("B"), fetched_at=clock() - 7200, provider="one")      # stale
    cache.set("D", make_info("D"), fetched_at=clock() - 7200, provider="one")      # stale
    facade = make_facade(primary, cache=cache, max_concurrent_requests=1,
                         cache_settings={"backend": "memory", "read_through": True,
                                         "fresh_for": "1h"},
                         provider_defaults={"retry": {"max_attempts": 1}})
    results = facade.batch_fetch(["A", "B", "C", "D"])
    assert {k: r.source.value for k, r in results.items()} == {
        "A": "cache_fresh", "B": "primary", "C": "primary", "D": "cache_stale"}
    assert primary.calls == [["B", "C", "D"]]
    # The whole batch once up front; then only what every provider failed, for a stale entry.
    assert cache.get_many_calls == [["A", "B", "C", "D"], ["D"]]
    assert facade.get_reliability_stats()["total_requests"] == 4


def test_a_warm_batch_under_read_through_calls_no_provider(make_facade: MakeFacade,
                                                           clock: FakeClock) -> None:
    primary = ScriptedProvider("one")
    cache = MemoryCache(clock=clock)
    facade = make_facade(primary, cache=cache,
                         cache_settings={"backend": "memory", "read_through": True})
    symbols = [f"S{i}" for i in range(40)]
    facade.batch_fetch(symbols)
    calls_when_cold = len(primary.calls)
    info = facade.batch_get_ticker_info(["s3", *symbols])
    assert calls_when_cold >= 1 and len(primary.calls) == calls_when_cold
    assert {i["_data_source"] for i in info.values()} == {"cache_fresh"}
    assert info["s3"]["symbol"] == "S3" and list(info)[:2] == ["s3", "S0"]


def test_a_provider_call_that_raises_sends_its_chunk_on_without_failing_the_batch(
        make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one", {"X": Raise(RuntimeError("boom"))})
    facade = make_facade(primary, ScriptedProvider("two"), max_concurrent_requests=2,
                         batch_size=2, provider_defaults={"retry": {"max_attempts": 1}})
    results = facade.batch_fetch(["A", "B", "X", "Y"])
    assert all(r.success for r in results.values())
    sources = {k: r.source for k, r in results.items()}
    chunk_with_x = next(c for c in primary.calls if "X" in c)
    assert {s for s, src in sources.items() if src is DataSource.FALLBACK} == set(chunk_with_x)


def test_an_unknown_symbol_fails_alone(make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one", {"NOPE": SymbolNotFoundError("no such symbol")})
    secondary = ScriptedProvider("two")
    facade = make_facade(primary, secondary, max_concurrent_requests=1)
    results = facade.batch_fetch(["A", "NOPE", "B"])
    assert [r.source.value for r in results.values()] == ["primary", "error", "primary"]
    assert results["NOPE"].error is not None
    assert results["NOPE"].error.code == "symbol_not_found"
    assert secondary.calls == []  # a symbol that does not exist is not asked elsewhere


# --- chunks and concurrency ----------------------------------------------------------------------


class GatedProvider:
    """Answers after a short bounded wait, recording how many calls overlapped."""

    def __init__(self) -> None:
        self.name = "gated"
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls: list[list[str]] = []
        self._never = threading.Event()

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.calls.append(list(symbols))
        self._never.wait(0.02)  # long enough for the other workers' calls to overlap
        with self._lock:
            self.in_flight -= 1
        return {s: make_info(s) for s in symbols}

    def close(self) -> None:
        pass


@pytest.mark.parametrize("limit", [1, 3])
def test_provider_calls_in_flight_never_exceed_max_concurrent_requests(
        make_facade: MakeFacade, limit: int) -> None:
    provider = GatedProvider()
    facade = make_facade(provider, max_concurrent_requests=limit, batch_size=2)
    symbols = [f"S{i}" for i in range(24)]
    results = facade.batch_fetch(symbols)
    assert all(r.source is DataSource.PRIMARY for r in results.values())
    assert provider.max_in_flight == limit
    assert sorted(s for call in provider.calls for s in call) == sorted(symbols)
    assert max(len(call) for call in provider.calls) <= 2


class BackoffGate(FakeClock):
    """A fake clock whose ``sleep`` (a retry backoff) blocks until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()
        self.gate = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.sleeping.set()
        assert self.gate.wait(5), "the test never opened the gate"
        super().sleep(seconds)


def test_a_request_waiting_out_a_backoff_leaves_its_call_slot_to_others() -> None:
    clock = BackoffGate()
    primary = ScriptedProvider("one", {"SLOW": [DOWN, make_info("SLOW")]})
    facade = ResilientProvider([primary], cache=MemoryCache(clock=clock), clock=clock,
                               settings=fast_settings(max_concurrent_requests=1))
    with facade, ThreadPoolExecutor(1) as pool:
        retrying = pool.submit(facade.fetch, "SLOW")
        assert clock.sleeping.wait(5)  # SLOW failed once and now waits out its backoff
        other = facade.fetch("FAST")  # the only slot is free for this meanwhile
        assert other.source is DataSource.PRIMARY and not retrying.done()
        clock.gate.set()
        assert retrying.result(5).source is DataSource.PRIMARY
    assert primary.calls == [["SLOW"], ["FAST"], ["SLOW"]]


def test_a_batch_that_fits_one_chunk_is_one_provider_call(make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one")
    make_facade(primary, max_concurrent_requests=1, batch_size=50).batch_fetch(
        [f"S{i}" for i in range(50)])
    assert len(primary.calls) == 1 and len(primary.calls[0]) == 50


# --- the batch's tail: no backoff that nothing else would overlap --------------------------------

THROTTLED = RateLimitError("HTTP 429")


def test_the_last_chunk_sends_retriable_failures_on_at_once_instead_of_backing_off(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", {"B": [THROTTLED, make_info("B")]})
    secondary = ScriptedProvider("two")
    facade = make_facade(primary, secondary, max_concurrent_requests=1)
    started = clock()
    results = facade.batch_fetch(["A", "B"])  # one chunk: it is the last one from the start
    assert {k: r.source.value for k, r in results.items()} == {"A": "primary", "B": "fallback"}
    assert primary.calls == [["A", "B"]] and secondary.calls == [["B"]]
    assert clock() == started  # no backoff was waited out
    assert results["B"].attempts[0].error_code == "rate_limited"


def test_the_last_chunk_still_retries_when_no_next_provider_could_answer(
        make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one", {"B": [THROTTLED, make_info("B")]})
    facade = make_facade(primary, max_concurrent_requests=1)
    results = facade.batch_fetch(["A", "B"])
    assert results["B"].source is DataSource.PRIMARY and results["B"].attempts[0].retries == 1
    assert primary.calls == [["A", "B"], ["B"]]


def test_the_last_chunk_still_retries_when_the_next_providers_breaker_is_open(
        make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one", {"B": [THROTTLED, make_info("B")]})
    secondary = ScriptedProvider("two")
    facade = make_facade(primary, secondary, max_concurrent_requests=1)
    facade._guarded[1].breaker.hold_open(600)  # the secondary is resting: no use falling over
    results = facade.batch_fetch(["A", "B"])
    assert results["B"].source is DataSource.PRIMARY
    assert primary.calls == [["A", "B"], ["B"]] and secondary.calls == []


def test_a_single_fetch_waits_out_its_backoffs_as_configured(make_facade: MakeFacade,
                                                             clock: FakeClock) -> None:
    primary = ScriptedProvider("one", {"B": [THROTTLED, make_info("B")]})
    facade = make_facade(primary, ScriptedProvider("two"))
    started = clock()
    assert facade.fetch("B").source is DataSource.PRIMARY
    assert clock() - started == pytest.approx(0.5)  # base_delay_s, no jitter


class CountingBackoffs(FakeClock):
    """A fake clock whose backoffs block until ``expected`` of them are waiting at once."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self._all_waiting = threading.Barrier(expected)

    def sleep(self, seconds: float) -> None:
        self._all_waiting.wait(5)
        super().sleep(seconds)


def test_chunks_started_before_the_last_one_wait_out_their_backoffs() -> None:
    # Two call slots' worth of chunks (A, B) both fail once and must both be in their backoff
    # before either ends, so C, the last chunk, cannot have started when they chose to wait.
    clock = CountingBackoffs(expected=2)
    primary = ScriptedProvider("one", {"A": [THROTTLED, make_info("A")],
                                       "B": [THROTTLED, make_info("B")]})
    secondary = ScriptedProvider("two")
    facade = ResilientProvider([primary, secondary], cache=MemoryCache(clock=clock), clock=clock,
                               settings=fast_settings(max_concurrent_requests=1, batch_size=1))
    with facade:
        results = facade.batch_fetch(["A", "B", "C"])
    assert {r.source for r in results.values()} == {DataSource.PRIMARY}
    assert sorted(map(tuple, primary.calls)) == [("A",), ("A",), ("B",), ("B",), ("C",)]
    assert secondary.calls == []


def test_run_chunks_reaches_the_tail_when_it_starts_the_last_chunk() -> None:
    tail = BatchTail()
    seen: dict[str, bool] = {}
    first_two_running = threading.Barrier(2)

    def run_chunk(chunk: list[str]) -> dict[str, FetchResult]:
        seen[chunk[0]] = tail.reached()
        if chunk[0] != "C":
            first_two_running.wait(5)  # neither ends before both started
        return {s: FetchResult(symbol=s, source=DataSource.PRIMARY, data=make_info(s))
                for s in chunk}

    results = run_chunks([["A"], ["B"], ["C"]], run_chunk, workers=2, progress=NoProgress(),
                         tail=tail)
    assert sorted(results) == ["A", "B", "C"]
    assert seen == {"A": False, "B": False, "C": True}


def test_a_batch_of_one_chunk_is_its_own_tail() -> None:
    tail = BatchTail()
    seen: list[bool] = []

    def run_chunk(chunk: list[str]) -> dict[str, FetchResult]:
        seen.append(tail.reached())
        return {}

    run_chunks([["A"]], run_chunk, workers=4, progress=NoProgress(), tail=tail)
    assert seen == [True]


@given(n=st.integers(0, 300), workers=st.integers(1, 16), max_size=st.integers(1, 40))
def test_chunks_cover_every_symbol_once_in_order_and_evenly(n: int, workers: int,
                                                            max_size: int) -> None:
    symbols = [f"S{i}" for i in range(n)]
    chunks = split_evenly(symbols, workers=workers, max_size=max_size)
    assert [s for chunk in chunks for s in chunk] == symbols
    if n:
        sizes = [len(c) for c in chunks]
        assert max(sizes) <= max_size and max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
        fewest = -(-n // max_size)
        if fewest <= workers:
            assert len(chunks) == fewest  # a small batch: as few calls as will do
        else:
            assert len(chunks) == n or len(chunks) % workers == 0  # whole rounds


def test_chunks_shrink_under_a_rate_limit_so_permits_fit_the_deadline() -> None:
    assert chunk_limit(25, workers=8, rate_per_s=0, deadline_s=30) == 25
    assert chunk_limit(25, workers=8, rate_per_s=5, deadline_s=30) == 9   # 8 chunks of 9 at 5/s: 14.4 s
    assert chunk_limit(25, workers=8, rate_per_s=0.1, deadline_s=30) == 1
    assert chunk_limit(25, workers=1, rate_per_s=100, deadline_s=30) == 25


def test_a_large_batch_under_a_rate_limit_is_paced_not_throttled(make_facade: MakeFacade,
                                                                 clock: FakeClock) -> None:
    primary = ScriptedProvider("one")
    facade = make_facade(primary, ScriptedProvider("two"), max_concurrent_requests=4,
                         deadline_s=30, provider_defaults={"rate_limit_per_s": 10})
    start = clock()
    results = facade.batch_fetch([f"S{i}" for i in range(200)])
    assert all(r.source is DataSource.PRIMARY for r in results.values())
    assert clock() - start == pytest.approx(19.0, abs=0.1)  # 10 free, then 10 a second
    assert facade.get_reliability_stats()["providers"]["one"]["skipped"] == {}


# --- coalescing ----------------------------------------------------------------------------------


class HeldProvider:
    """Blocks its first call until released, so other requests arrive while it is in flight."""

    def __init__(self) -> None:
        self.name = "held"
        self.calls: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        self.calls.append(list(symbols))
        self.started.set()
        self.release.wait(5)
        return {s: make_info(s) for s in symbols}

    def close(self) -> None:
        self.release.set()


def wait_until(condition: Any, timeout_s: float = 5.0) -> None:
    event = threading.Event()
    for _ in range(int(timeout_s / 0.005)):
        if condition():
            return
        event.wait(0.005)
    raise AssertionError("condition not reached")


def test_concurrent_requests_for_one_symbol_share_one_provider_call(make_facade: MakeFacade) -> None:
    provider = HeldProvider()
    facade = make_facade(provider)
    answers: list[FetchResult] = []
    first = threading.Thread(target=lambda: answers.append(facade.fetch("AAPL")))
    first.start()
    assert provider.started.wait(5)
    second = threading.Thread(target=lambda: answers.append(facade.fetch("aapl")))
    batch: dict[str, FetchResult] = {}
    third = threading.Thread(target=lambda: batch.update(facade.batch_fetch(["AAPL", "MSFT"])))
    second.start()
    third.start()
    wait_until(lambda: facade._coalescer.waiting() == 2)
    provider.release.set()
    for thread in (first, second, third):
        thread.join(5)
    assert provider.calls == [["AAPL"], ["MSFT"]]
    assert {a.ticker for a in answers} == {"AAPL", "aapl"}
    assert answers[0].data == answers[1].data == batch["AAPL"].data
    stats = facade.get_reliability_stats()
    assert stats["total_requests"] == 4 and stats["coalesced_requests"] == 2
    assert stats["providers"]["held"]["calls"] == 2


def test_requests_after_a_fetch_ends_call_the_provider_again(make_facade: MakeFacade) -> None:
    primary = ScriptedProvider("one")
    facade = make_facade(primary)
    facade.fetch("AAPL")
    facade.fetch("AAPL")
    assert primary.calls == [["AAPL"], ["AAPL"]]
    assert facade._coalescer.in_flight() == 0


# --- async twins ---------------------------------------------------------------------------------


def test_async_batch_twins_answer_inside_a_running_event_loop(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))

    async def main() -> tuple[dict[str, FetchResult], dict[str, Any]]:
        return (await facade.abatch_fetch(["A", "B"]),
                await facade.abatch_get_ticker_info(["C", "../x"]))

    fetched, info = asyncio.run(main())
    assert [r.source for r in fetched.values()] == [DataSource.PRIMARY] * 2
    assert [i["_data_source"] for i in info.values()] == ["primary", "error"]


def test_async_batch_twins_raise_bad_input_in_the_callers_frame(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))
    with pytest.raises(InvalidSymbolError):
        asyncio.run(facade.abatch_fetch("AAPL"))


# --- frames --------------------------------------------------------------------------------------


def test_as_frame_gives_a_dataframe_indexed_by_ticker_with_tag_columns(
        make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one", {"NOPE": SymbolNotFoundError("no such symbol")}))
    frame = facade.batch_get_ticker_info(["msft", "AAPL", "NOPE", "../x"], as_frame=True)
    assert list(frame.index) == ["msft", "AAPL", "NOPE", "../x"]
    assert frame.index.name == "ticker"  # as given; the normalised symbol is a column
    for column in ("_data_source", "_provider", "_is_stale", "_age_s", "_latency_ms", "error"):
        assert column in frame.columns
    assert frame.loc["AAPL", "regularMarketPrice"] == make_info("AAPL")["regularMarketPrice"]
    assert list(frame["_data_source"]) == ["primary", "primary", "error", "error"]
    assert frame.loc["NOPE", "_error_code"] == "symbol_not_found"
    assert "no such symbol" in str(frame.loc["NOPE", "error"])
    assert frame.loc["msft", "_provider"] == "one"


# --- progress ------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("total", "wanted", "stream", "shown"), [
    (PROGRESS_MIN_SYMBOLS, None, Terminal(), True),
    (PROGRESS_MIN_SYMBOLS - 1, None, Terminal(), False),
    (500, None, io.StringIO(), False),   # not a terminal
    (500, False, Terminal(), False),
    (5, True, io.StringIO(), True),
])
def test_the_progress_bar_shows_for_large_batches_on_a_terminal(total: int, wanted: bool | None,
                                                                 stream: io.StringIO,
                                                                 shown: bool) -> None:
    with progress_bar(total, wanted, stream=stream) as bar:
        bar.advance(total)
    assert (type(bar).__name__ == "_RichProgress") is shown


def test_a_batch_on_a_terminal_draws_its_bar_on_stderr(make_facade: MakeFacade,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    make_facade(ScriptedProvider("one")).batch_fetch([f"S{i}" for i in range(30)])
    assert "30/30" in terminal.getvalue()


def test_plan_keeps_input_errors_apart_from_symbols() -> None:
    plan = plan_batch(["a", "A", "b!", "B"])
    assert plan.keys == ("a", "A", "b!", "B")
    assert plan.symbols == ("A", "B")
    assert set(plan.invalid) == {"b!"}
