"""The fake Yahoo's limit models on a fake clock: what each admits, what it refuses, and why.

Driven through :class:`Throttle` directly (no sockets): the HTTP side is in
test_fake_yahoo_throttle.py.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resilient_provider.testing import FakeClock
from resilient_provider.testing.fake_yahoo import PenaltyBox, SlidingWindow, TokenBucket
from resilient_provider.testing.fake_yahoo.throttle import Limit, Throttle

ME, OTHER = "127.0.0.1", "10.0.0.2"


def attempt(throttle: Throttle, *, client: str = ME, route: str = "quote") -> str | None:
    """One request, answered at once: None if admitted, else the refusal's reason."""
    with throttle.admission(client, route) as refused:
        return refused


def attempts(throttle: Throttle, n: int, **kwargs: Any) -> list[str | None]:
    return [attempt(throttle, **kwargs) for _ in range(n)]


def make(limit: Limit | None, clock: FakeClock, **kwargs: Any) -> Throttle:
    return Throttle(limit, clock=clock, **kwargs)


# --- sliding window -------------------------------------------------------------------------------

def test_a_sliding_window_admits_n_then_refuses_naming_itself() -> None:
    throttle = make(SlidingWindow(3, window_s=1.0), FakeClock())
    assert attempts(throttle, 5) == [None, None, None, "sliding_window", "sliding_window"]


def test_a_sliding_window_frees_a_slot_when_the_oldest_admission_leaves_it() -> None:
    clock = FakeClock()
    throttle = make(SlidingWindow(2, window_s=1.0), clock)
    attempt(throttle)
    clock.advance(0.5)
    attempt(throttle)
    clock.advance(0.4)  # 0.9 s after the first: both still inside
    assert attempt(throttle) == "sliding_window"
    clock.advance(0.1)  # the first has left; the second has not
    assert attempts(throttle, 2) == [None, "sliding_window"]


def test_refused_requests_use_up_no_budget() -> None:
    clock = FakeClock()
    throttle = make(SlidingWindow(1, window_s=1.0), clock)
    attempt(throttle)
    for _ in range(10):
        clock.advance(0.09)
        assert attempt(throttle) == "sliding_window"
    clock.advance(0.1)  # 1 s after the only admission
    assert attempt(throttle) is None


@given(n=st.integers(1, 5), window_s=st.sampled_from([0.5, 1.0, 2.0]),
       gaps=st.lists(st.sampled_from([0.0, 0.125, 0.25, 0.5, 1.0]), max_size=40))
def test_a_sliding_window_never_admits_more_than_n_per_window_and_refuses_only_when_full(
    n: int, window_s: float, gaps: list[float],
) -> None:
    clock = FakeClock(start=0.0)
    throttle = make(SlidingWindow(n, window_s=window_s), clock)
    admitted: list[float] = []
    for gap in gaps:
        clock.advance(gap)
        now = clock()
        recent = [t for t in admitted if t > now - window_s]
        if attempt(throttle) is None:
            assert len(recent) < n
            admitted.append(now)
        else:
            assert len(recent) == n


# --- token bucket ---------------------------------------------------------------------------------

def test_a_token_bucket_starts_full_and_refuses_past_its_burst() -> None:
    throttle = make(TokenBucket(2, burst=4), FakeClock())
    assert attempts(throttle, 5) == [None] * 4 + ["token_bucket"]


def test_a_token_bucket_refills_one_token_per_interval() -> None:
    clock = FakeClock()
    throttle = make(TokenBucket(4, burst=1), clock)
    attempt(throttle)
    clock.advance(0.125)  # half a token
    assert attempt(throttle) == "token_bucket"
    clock.advance(0.125)
    assert attempts(throttle, 2) == [None, "token_bucket"]


def test_a_token_bucket_holds_no_more_than_its_burst_after_idling() -> None:
    clock = FakeClock()
    throttle = make(TokenBucket(5, burst=3), clock)
    clock.advance(3600)
    assert attempts(throttle, 4) == [None, None, None, "token_bucket"]


def test_a_token_buckets_burst_defaults_to_one_seconds_worth() -> None:
    assert (TokenBucket(5).capacity, TokenBucket(2.5).capacity, TokenBucket(0.2).capacity) \
        == (5, 3, 1)


@given(rate=st.sampled_from([0.5, 1.0, 2.0, 5.0]), burst=st.integers(1, 6),
       gaps=st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]), max_size=40))
def test_a_token_bucket_admits_at_most_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float],
) -> None:
    clock = FakeClock(start=0.0)
    throttle = make(TokenBucket(rate, burst=burst), clock)
    admitted: list[float] = []
    for gap in gaps:
        clock.advance(gap)
        if attempt(throttle) is None:
            admitted.append(clock())
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            assert j - i + 1 <= burst + rate * (admitted[j] - start) + 1e-6


# --- penalty box ----------------------------------------------------------------------------------

def banned_throttle(clock: FakeClock) -> Throttle:
    """One request a second; three 429s within 10 s earn 60 s in the box — and have."""
    throttle = make(SlidingWindow(1, window_s=1.0), clock,
                    penalty=PenaltyBox(strikes=3, within_s=10, ban_s=60))
    assert attempts(throttle, 4) == [None] + ["sliding_window"] * 3
    return throttle


def test_the_penalty_box_refuses_everything_once_engaged() -> None:
    clock = FakeClock()
    throttle = banned_throttle(clock)
    clock.advance(5)  # the window has budget again; the box does not care
    assert attempts(throttle, 3) == ["penalty_box"] * 3


def test_the_penalty_box_lets_traffic_through_after_the_ban() -> None:
    clock = FakeClock()
    throttle = banned_throttle(clock)
    clock.advance(59.9)
    assert attempt(throttle) == "penalty_box"
    clock.advance(0.1)
    assert attempt(throttle) is None


def test_refusals_in_the_box_do_not_extend_the_ban() -> None:
    clock = FakeClock()
    throttle = banned_throttle(clock)
    for _ in range(59):
        clock.advance(1)
        assert attempt(throttle) == "penalty_box"
    clock.advance(1)
    assert attempt(throttle) is None


def test_a_client_leaves_the_box_with_a_clean_record() -> None:
    clock = FakeClock()
    throttle = banned_throttle(clock)
    clock.advance(60)
    assert attempts(throttle, 3) == [None, "sliding_window", "sliding_window"]  # 2 strikes
    clock.advance(1)
    assert attempt(throttle) is None


def test_strikes_spread_wider_than_the_period_never_engage_the_box() -> None:
    clock = FakeClock()
    throttle = make(SlidingWindow(1, window_s=1.0), clock,
                    penalty=PenaltyBox(strikes=3, within_s=10, ban_s=60))
    for _ in range(10):
        assert attempts(throttle, 2) == [None, "sliding_window"]  # one strike every 5 s
        clock.advance(5)


# --- in flight, clients, routes -------------------------------------------------------------------

def test_the_in_flight_cap_refuses_while_the_cap_is_reached() -> None:
    throttle = make(None, FakeClock(), max_in_flight=2)
    with ExitStack() as held:
        assert [held.enter_context(throttle.admission(ME, "quote")) for _ in range(2)] == \
            [None, None]
        assert attempt(throttle) == "in_flight"
    assert attempts(throttle, 3) == [None, None, None]  # answered one at a time: never 2


def test_in_flight_refusals_are_penalty_strikes() -> None:
    throttle = make(None, FakeClock(), max_in_flight=1,
                    penalty=PenaltyBox(strikes=2, within_s=10, ban_s=60))
    with throttle.admission(ME, "quote"):
        assert attempts(throttle, 2) == ["in_flight", "in_flight"]
    assert attempt(throttle) == "penalty_box"


def test_an_in_flight_refusal_takes_no_token() -> None:
    throttle = make(TokenBucket(1, burst=2), FakeClock(), max_in_flight=1)
    with throttle.admission(ME, "quote"):
        assert attempts(throttle, 5) == ["in_flight"] * 5
    assert attempts(throttle, 2) == [None, "token_bucket"]  # the second token is still there


def test_every_client_has_its_own_budget() -> None:
    throttle = make(SlidingWindow(1), FakeClock())
    assert attempts(throttle, 2) == [None, "sliding_window"]
    assert attempt(throttle, client=OTHER) is None


def test_routes_not_covered_are_never_throttled_nor_counted() -> None:
    throttle = make(SlidingWindow(1), FakeClock(), routes=["quote"])
    assert attempts(throttle, 5, route="quoteSummary") == [None] * 5
    assert attempts(throttle, 2, route="quote") == [None, "sliding_window"]


def test_the_default_routes_are_the_crumb_and_the_data_routes() -> None:
    throttle = make(SlidingWindow(1), FakeClock())
    assert throttle.routes == {"crumb", "quoteSummary", "quote", "timeseries", "chart"}
    assert make(SlidingWindow(1), FakeClock(), routes="any").covers("cookie")


# --- settings -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("build", "bad"), [
    (lambda: SlidingWindow(0), "0"), (lambda: SlidingWindow(2.5), "2.5"),  # type: ignore[arg-type]
    (lambda: SlidingWindow(True), "True"), (lambda: SlidingWindow(5, window_s=0), "0"),
    (lambda: SlidingWindow(5, window_s=math.inf), "inf"),
    (lambda: TokenBucket(0), "0"), (lambda: TokenBucket(-1), "-1"),
    (lambda: TokenBucket(5, burst=0), "0"), (lambda: TokenBucket(math.nan), "nan"),
    (lambda: PenaltyBox(0, 10, 60), "0"), (lambda: PenaltyBox(3, -1, 60), "-1"),
    (lambda: PenaltyBox(3, 10, 0), "0"),
    (lambda: make(None, FakeClock()), "needs a limit"),
    (lambda: make(None, FakeClock(), max_in_flight=0), "0"),
    (lambda: make(SlidingWindow(1), FakeClock(), retry_after_s=-1), "-1"),
    (lambda: make(SlidingWindow(1), FakeClock(), routes=["quotes"]), "quotes"),
    (lambda: make(SlidingWindow(1), FakeClock(), routes=[]), "none"),
])
def test_bad_settings_name_the_bad_value(build: Any, bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        build()
