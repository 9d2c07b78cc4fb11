"""Ctrl-C mid-batch: the answers settled so far come back at once, on the KeyboardInterrupt."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

import pytest

import resilient_provider.facade as facade_module
from resilient_provider.result import DataSource, FetchResult
from resilient_provider.strategy.batch import BatchInterrupted, run_chunks
from resilient_provider.testing import Hang, ScriptedProvider, make_info
from tests.conftest import MakeFacade
from tests.interrupts import InterruptAfter


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test: lets a chunk left hanging return."""
    event = threading.Event()
    yield event
    event.set()


def test_run_chunks_keeps_the_settled_answers_and_does_not_wait_for_a_hung_chunk(
    release: threading.Event,
) -> None:
    hung = threading.Event()
    cue = InterruptAfter(2, also=hung)

    def run_chunk(chunk: list[str]) -> Mapping[str, FetchResult]:
        if chunk == ["HANG"]:
            hung.set()
            release.wait(timeout=60)
        return {s: FetchResult(symbol=s, source=DataSource.PRIMARY, data={"symbol": s})
                for s in chunk}

    try:
        with pytest.raises(BatchInterrupted) as caught:
            run_chunks([["A"], ["B"], ["HANG"]], run_chunk, workers=3, progress=cue)
    finally:
        cue.cancel()
    assert cue.sent.is_set()
    assert isinstance(caught.value, KeyboardInterrupt)
    assert set(caught.value.results) == {"A", "B"}
    assert hung.is_set() and not release.is_set()  # it left the hung chunk running


def test_batch_fetch_raises_the_answers_so_far_in_input_order_and_names_the_missing(
    make_facade: MakeFacade, monkeypatch: pytest.MonkeyPatch,
) -> None:
    hang = Hang()
    facade = make_facade(ScriptedProvider("p", {"HANG": hang, "AAPL": make_info("AAPL"),
                                                "MSFT": make_info("MSFT")}),
                         batch_size=1, deadline_s=60, provider_defaults={"timeout_s": 30})
    cue = InterruptAfter(2)
    monkeypatch.setattr(facade_module, "progress_bar", cue.bar)
    try:
        with pytest.raises(BatchInterrupted) as caught:
            facade.batch_fetch(["msft", "HANG", "not a symbol!", "AAPL"])
    finally:
        cue.cancel()
        hang.release()
    stop = caught.value
    assert list(stop.results) == ["msft", "not a symbol!", "AAPL"]
    assert stop.results["msft"].source is DataSource.PRIMARY
    assert stop.results["not a symbol!"].error is not None
    assert stop.missing == ("HANG",)
    assert facade.reliability_report().sources.total_requests == 2  # what was served counts
