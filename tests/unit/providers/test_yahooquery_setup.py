"""The yahooquery adapter's session set-up (yahooquery's cookie fetch) under a slow network.

It used to run while holding the adapter's lock: one slow or failing set-up made every other
caller wait its turn to try again, one after another, and ``close()`` waited for it too (a
blackholed network made a 20-symbol batch take 92 s, of which ``close()`` waited 10 s).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from resilient_provider.errors import ProviderUnavailableError
from resilient_provider.testing import FakeYahooServer, Fault

WAIT_S = 10.0  # a bound on waits for other threads, never reached when the test passes


def fetch_concurrently(adapter: Any, symbols: list[str]) -> dict[str, Mapping[str, Any]]:
    """One ``fetch_info([symbol])`` per symbol, each on its own thread, all at once."""
    answers: dict[str, Mapping[str, Any]] = {}
    start = threading.Barrier(len(symbols))

    def call(symbol: str) -> None:
        start.wait(WAIT_S)
        answers[symbol] = adapter.fetch_info([symbol])

    threads = [threading.Thread(target=call, args=(s,)) for s in symbols]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    return answers


def test_callers_share_one_failing_set_up_instead_of_each_trying_in_turn(
        yahoo: FakeYahooServer, make_adapter: Callable[..., Any]) -> None:
    yahoo.hang_limit_s = 5.0
    yahoo.inject(Fault.hang(), route="cookie")  # a blackholed network: the set-up times out
    adapter = make_adapter("yahooquery", timeout_s=0.3)
    answers = fetch_concurrently(adapter, ["AAPL", "MSFT", "GOOG", "AMZN"])
    assert sorted(answers) == ["AAPL", "AMZN", "GOOG", "MSFT"]
    assert all(isinstance(answer, ProviderUnavailableError)
               for result in answers.values() for answer in result.values())
    # One set-up for the four callers; under the lock each tried its own, one after another.
    assert yahoo.count("cookie") == 1


def test_callers_share_one_slow_set_up_and_all_get_data(
        yahoo: FakeYahooServer, make_adapter: Callable[..., Any]) -> None:
    yahoo.inject(Fault.slow(0.3), route="cookie")
    adapter = make_adapter("yahooquery")
    answers = fetch_concurrently(adapter, ["AAPL", "MSFT", "GOOG"])
    assert {s: answers[s][s]["symbol"] for s in answers} == {s: s for s in answers}
    assert yahoo.count("cookie") == 1


class CookieSentGate:
    """A gate that admits everything and tells when the cookie request goes out."""

    def __init__(self) -> None:
        self.cookie_sent = threading.Event()

    def admit(self, provider: str, route: str) -> object:
        if route == "cookie":
            self.cookie_sent.set()
        return object()

    def settle(self, ticket: object, *, status: int | None,
               retry_after_s: float | None = None) -> None:
        pass


def test_close_does_not_wait_for_a_set_up_under_way_and_its_session_is_not_kept(
        yahoo: FakeYahooServer, make_adapter: Callable[..., Any]) -> None:
    yahoo.inject(Fault.slow(2.0), route="cookie")
    adapter = make_adapter("yahooquery", timeout_s=5.0)
    gate = CookieSentGate()
    adapter.bind_gate(gate)
    answers: dict[str, Any] = {}
    fetching = threading.Thread(target=lambda: answers.update(adapter.fetch_info(["AAPL"])))
    fetching.start()
    assert gate.cookie_sent.wait(WAIT_S), "the set-up never sent its cookie request"
    closing = threading.Thread(target=adapter.close)
    closing.start()
    closing.join(1.0)
    assert not closing.is_alive(), "close() waited for the set-up under way"
    assert fetching.is_alive()  # the set-up (2 s) is still under way: close() did not wait
    fetching.join(WAIT_S)
    assert isinstance(answers["AAPL"], ProviderUnavailableError)  # closed during its set-up
    assert adapter._session is None  # the session set up after close() was closed, not kept
