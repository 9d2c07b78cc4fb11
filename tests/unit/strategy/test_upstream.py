"""The upstream budget: even pacing, slow start and AIMD, 429 cool-downs, own blocks, bounds.

Driven on a fake clock: the budget sleeps by advancing it, so no test waits for real.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from resilient_provider.config import UpstreamSettings
from resilient_provider.errors import ThrottledError, UpstreamCoolingError
from resilient_provider.providers.gate import REQUEST_DEADLINE
from resilient_provider.strategy.timeouts import Deadline
from resilient_provider.strategy.upstream import UpstreamBudget
from resilient_provider.testing import FakeClock
from resilient_provider.testing.fake_yahoo.throttle import Limit, Meter, SlidingWindow


def make_budget(clock: FakeClock, **settings: object) -> UpstreamBudget:
    return UpstreamBudget("yahoo", UpstreamSettings.model_validate(settings), clock=clock,
                          sleep=clock.sleep)


@contextmanager
def deadline(clock: FakeClock, seconds: float) -> Iterator[None]:
    token = REQUEST_DEADLINE.set(Deadline(seconds, clock))
    try:
        yield
    finally:
        REQUEST_DEADLINE.reset(token)


def send(budget: UpstreamBudget, clock: FakeClock, status: int = 200, *,
         provider: str = "yfinance", retry_after_s: float | None = None) -> float:
    """One request answered at once with ``status``; returns when it went out."""
    ticket = budget.admit(provider, "quoteSummary")
    budget.settle(ticket, status=status, retry_after_s=retry_after_s)
    return clock()


class TokenBucketYahoo:
    """A Yahoo that allows ``rate`` requests per second (burst ``burst``) and 429s the rest."""

    def __init__(self, clock: FakeClock, rate: float, burst: float) -> None:
        self.clock, self.rate, self.burst = clock, rate, burst
        self.tokens, self.at = burst, clock()
        self.answers: list[int] = []

    def answer(self) -> int:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        status = 200 if self.tokens >= 1 else 429
        self.tokens -= 1 if status == 200 else 0
        self.answers.append(status)
        return status


def test_requests_go_out_evenly_at_the_rate(clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=4, increase_factor=1)
    times = [send(budget, clock) for _ in range(5)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([0.25] * 4)


def test_an_unthrottled_upstream_is_paced_past_16_per_second_within_10_seconds(
        clock: FakeClock) -> None:
    budget = make_budget(clock)
    start = clock()
    while clock() - start < 10:
        send(budget, clock)
    assert budget.rate_per_s >= 16


def test_the_rate_does_not_rise_while_the_budget_is_not_used(clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=8)
    for _ in range(10):
        send(budget, clock)
        clock.advance(2.0)  # one request every two seconds: far below the rate
    assert budget.rate_per_s == 8


def test_a_429_halves_the_rate_and_cools_the_upstream_for_a_second(clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=8)
    throttled_at = send(budget, clock, 429)
    assert budget.rate_per_s == 4
    assert budget.cooling_for_s() == pytest.approx(1.0)
    assert send(budget, clock) >= throttled_at + 1.0


def test_retry_after_holds_every_request_back_for_that_long(clock: FakeClock) -> None:
    budget = make_budget(clock)
    throttled_at = send(budget, clock, 429, retry_after_s=5)
    assert send(budget, clock, provider="yahooquery") >= throttled_at + 5.0


def test_cool_downs_double_with_each_429_in_a_row_and_a_success_resets_them(
        clock: FakeClock) -> None:
    budget = make_budget(clock, cooldown_s=1, max_cooldown_s=3)
    pauses = []
    for _ in range(3):
        send(budget, clock, 429)
        pauses.append(budget.cooling_for_s())
    send(budget, clock, 200)
    send(budget, clock, 429)
    assert pauses == pytest.approx([1.0, 2.0, 3.0])  # the third is capped at max_cooldown_s
    assert budget.cooling_for_s() == pytest.approx(1.0)


def test_429s_to_requests_already_in_flight_cut_the_rate_once(clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=8, max_in_flight=4)
    tickets = [budget.admit("yfinance", "quoteSummary") for _ in range(3)]
    for ticket in tickets:
        budget.settle(ticket, status=429)
    assert budget.rate_per_s == 4


def test_a_429_to_one_library_while_the_other_succeeds_is_that_librarys_block(
        clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=8)
    send(budget, clock, 200, provider="yahooquery")
    send(budget, clock, 429, provider="yfinance")
    assert budget.rate_per_s == 8 and budget.cooling_for_s() == 0
    assert budget.blames("yfinance") and not budget.blames("yahooquery")
    assert budget.snapshot().provider_blocks == 1


def test_429s_to_both_libraries_are_the_upstreams_not_a_block(clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=8)
    send(budget, clock, 200, provider="yahooquery")
    send(budget, clock, 429, provider="yahooquery")
    send(budget, clock, 429, provider="yfinance")
    assert not budget.blames("yfinance")
    assert budget.rate_per_s < 8 and budget.cooling_for_s() > 0


def test_a_cool_down_longer_than_the_deadline_is_refused_at_once(clock: FakeClock) -> None:
    budget = make_budget(clock)
    send(budget, clock, 429, retry_after_s=60)
    before = clock()
    with deadline(clock, 10), pytest.raises(UpstreamCoolingError) as refused:
        budget.admit("yahooquery", "quote")
    assert clock() == before  # no wait at all
    assert refused.value.code == "upstream_cooling" and refused.value.cooling_for_s == 60
    assert budget.snapshot().cooling_skips == 1


def test_a_cool_down_within_the_deadline_is_waited_out(clock: FakeClock) -> None:
    budget = make_budget(clock)
    throttled_at = send(budget, clock, 429, retry_after_s=3)
    with deadline(clock, 10):
        budget.admit("yahooquery", "quote")
    assert clock() >= throttled_at + 3


def test_a_pacing_slot_past_the_deadline_is_refused(clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=0.2, min_rate_per_s=0.2)
    send(budget, clock)
    with deadline(clock, 2), pytest.raises(ThrottledError):
        budget.admit("yfinance", "quoteSummary")  # the next slot is 5 s away


def test_no_more_than_max_in_flight_requests_at_once(clock: FakeClock) -> None:
    budget = make_budget(clock, max_in_flight=2, initial_rate_per_s=50, max_rate_per_s=50)
    first = budget.admit("yfinance", "quoteSummary")
    budget.admit("yfinance", "quoteSummary")
    with deadline(clock, 0), pytest.raises(ThrottledError):
        budget.admit("yfinance", "quoteSummary")
    budget.settle(first, status=200)
    budget.admit("yfinance", "quoteSummary")
    assert budget.snapshot().in_flight == 2


def test_the_rate_stays_between_its_floor_and_its_ceiling(clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=1, min_rate_per_s=0.5, max_rate_per_s=10)
    for _ in range(5):
        send(budget, clock, 429, retry_after_s=0)
    assert budget.rate_per_s == 0.5
    unthrottled = make_budget(clock, initial_rate_per_s=1, min_rate_per_s=0.5, max_rate_per_s=10)
    start = clock()
    while clock() - start < 60:
        send(unthrottled, clock)
    assert unthrottled.rate_per_s == 10


def test_after_a_429_the_rate_comes_back_fast_to_just_below_that_limit(clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=10, max_rate_per_s=10)
    send(budget, clock, 429, retry_after_s=0)
    assert budget.rate_per_s == 5
    start = clock()
    while clock() - start < 5:
        send(budget, clock)
    assert 8.5 <= budget.rate_per_s < 8.7  # safe_share 0.85 of 10, then probing slowly


def run_against(budget: UpstreamBudget, clock: FakeClock, limit: Limit,
                served_wanted: int) -> list[tuple[float, int]]:
    """Send until ``served_wanted`` requests are answered by a Yahoo limiting as the fake's
    ``limit`` does; every request's send time and status."""
    meter = limit.meter()
    log: list[tuple[float, int]] = []
    while sum(1 for _, status in log if status == 200) < served_wanted:
        ticket = budget.admit("yfinance", "quoteSummary")
        status = 200 if meter.admit(clock()) else 429
        budget.settle(ticket, status=status)
        log.append((ticket.sent_at, status))
    return log


def most_in_any(log: list[tuple[float, int]], window_s: float, *, status: int | None = None,
                ) -> int:
    times = [t for t, s in log if status is None or s == status]
    return max((sum(1 for u in times if t <= u < t + window_s) for t in times), default=0)


@pytest.mark.parametrize("limit", [2, 5, 10, 20])
def test_against_a_sliding_window_yahoo_few_requests_draw_429s_and_no_penalty_box(
        clock: FakeClock, limit: int) -> None:
    budget = make_budget(clock)
    start = clock()
    log = run_against(budget, clock, SlidingWindow(limit, window_s=1.0), 500)
    refused = sum(1 for _, status in log if status == 429)
    assert refused / len(log) <= 0.02
    assert most_in_any(log, 10.0, status=429) < 10  # Yahoo's soft ban: 10 429s in 10 s
    assert most_in_any(log, 1.0) <= 1.2 * limit + 1
    assert clock() - start <= 1.25 * len(log) / limit + 10


def test_a_slow_start_that_overshot_comes_back_to_what_got_through(clock: FakeClock) -> None:
    budget = make_budget(clock, initial_rate_per_s=40)
    log = run_against(budget, clock, SlidingWindow(2, window_s=1.0), 3)
    assert [status for _, status in log].count(429) == 1
    assert budget.rate_per_s == pytest.approx(1.0)  # half of the 2/s that got through, not 20


def test_an_unthrottled_upstream_is_paced_at_80_per_second_within_one_and_a_half_seconds(
        clock: FakeClock) -> None:
    budget = make_budget(clock)
    start = clock()
    while clock() - start < 1.5:
        send(budget, clock)
    assert budget.rate_per_s >= 80


@pytest.mark.parametrize("limit", [2, 5, 10, 20])
def test_against_a_token_bucket_yahoo_few_requests_draw_429s(clock: FakeClock,
                                                             limit: int) -> None:
    yahoo = TokenBucketYahoo(clock, rate=limit, burst=limit)
    budget = make_budget(clock)
    start = clock()
    served = 0
    while served < 500:
        ticket = budget.admit("yfinance", "quoteSummary")
        status = yahoo.answer()
        budget.settle(ticket, status=status)
        served += status == 200
    share = yahoo.answers.count(429) / len(yahoo.answers)
    assert share <= 0.02
    assert clock() - start <= 1.25 * 500 / limit + 10


def test_the_snapshot_counts_requests_by_route_and_provider_and_429s(clock: FakeClock) -> None:
    budget = make_budget(clock)
    for route, provider, status in [("cookie", "yfinance", 200), ("quoteSummary", "yfinance", 429),
                                    ("quote", "yahooquery", 200)]:
        budget.settle(budget.admit(provider, route), status=status)
    snap = budget.snapshot()
    assert snap.requests_by_route == {"cookie": 1, "quote": 1, "quoteSummary": 1}
    assert snap.requests_by_provider == {"yfinance": 2, "yahooquery": 1}
    assert snap.requests == 3 and snap.rate_limited == 1
    assert snap.rate_limited_share == pytest.approx(33.33)
    assert snap.cooldowns == 1 and snap.wait_p50_s is not None
    assert snap.min_rate_per_s is not None and snap.max_rate_per_s is not None
    assert math.isfinite(snap.min_rate_per_s) and snap.min_rate_per_s <= snap.max_rate_per_s


def test_after_a_60_s_storm_of_429s_the_rate_is_back_above_80_percent_within_60_s(
        clock: FakeClock) -> None:
    budget = make_budget(clock)
    start = clock()
    while clock() - start < 20:  # an unthrottled upstream: the rate climbs
        send(budget, clock)
    before = budget.rate_per_s
    storm_end = clock() + 60
    while clock() < storm_end:  # every request refused, no Retry-After
        send(budget, clock, 429)
    assert budget.rate_per_s < before / 2
    recovered_at = None
    while clock() < storm_end + 60:
        send(budget, clock)
        if recovered_at is None and budget.rate_per_s >= 0.8 * before:
            recovered_at = clock()
    assert recovered_at is not None and recovered_at - storm_end <= 60


def test_a_lone_success_in_a_storm_does_not_make_the_storms_rate_the_limit(
        clock: FakeClock) -> None:
    budget = make_budget(clock)
    meter = SlidingWindow(10, window_s=1.0).meter()

    def against_the_limit() -> None:
        ticket = budget.admit("yfinance", "quoteSummary")
        budget.settle(ticket, status=200 if meter.admit(clock()) else 429)

    start = clock()
    while clock() - start < 20:  # the limit (10/s) is found
        against_the_limit()
    before = budget.rate_per_s
    storm_end, sent = clock() + 60, 0
    while clock() < storm_end:  # a storm of 429s, one request in three answered
        sent += 1
        send(budget, clock, 200 if sent % 3 == 0 else 429)
    recovered_at = None
    while clock() < storm_end + 60:
        against_the_limit()
        if recovered_at is None and budget.rate_per_s >= 0.8 * before:
            recovered_at = clock()
    assert recovered_at is not None and recovered_at - storm_end <= 60


def test_a_limit_that_came_down_is_learned_from_429s_that_measure_nothing(
        clock: FakeClock) -> None:
    # Bursts after pauses (a batch's chunks): each 429 comes too soon after the pause to
    # measure the limit. Keeping the limit measured before (10/s) sent every burst back
    # above the new one (4/s): a 429 in each of 40 bursts, 14% 429s in the 500-symbol run.
    budget = make_budget(clock)
    meter = SlidingWindow(10, window_s=1.0).meter()

    def against(limit: Meter) -> bool:
        ticket = budget.admit("yfinance", "quoteSummary")
        answered = limit.admit(clock())
        budget.settle(ticket, status=200 if answered else 429)
        return answered

    start = clock()
    while clock() - start < 20:  # the limit (10/s) is found
        against(meter)
    lower = SlidingWindow(4, window_s=1.0).meter()
    refused = []
    for _ in range(40):
        refused.append(sum(not against(lower) for _ in range(8)))
        clock.sleep(3.0)
    assert sum(refused[10:]) <= 3, refused


def test_a_429_after_a_pause_cuts_from_the_rate_not_from_the_few_requests_before_it(
        clock: FakeClock) -> None:
    budget = make_budget(clock)
    start = clock()
    while clock() - start < 3:  # an unthrottled upstream: the rate climbs past 80/s
        send(budget, clock)
    before = budget.rate_per_s
    clock.advance(0.4)  # the caller paused: what it sent since is no measure of the limit
    send(budget, clock)
    send(budget, clock)
    send(budget, clock, 429)
    assert budget.rate_per_s == pytest.approx(before / 2)
    clock.advance(1.0)  # the cool-down
    recovered = clock() + 3
    while clock() < recovered:
        send(budget, clock)
    assert budget.rate_per_s >= 0.8 * before


def test_a_library_is_held_back_only_once_a_429_after_the_others_success_confirms_its_block(
        clock: FakeClock) -> None:
    budget = make_budget(clock, provider_block_window_s=10)
    budget.add_provider("yfinance")
    budget.add_provider("yahooquery")
    send(budget, clock, 429, provider="yfinance", retry_after_s=0)  # the IP's, or its own?
    send(budget, clock, provider="yahooquery")
    # Not held yet: under an IP limit the other library gets past only because the rate was
    # cut, and this library's next request would be served too.
    ticket = budget.admit("yfinance", "quoteSummary")
    budget.settle(ticket, status=429)  # but it is refused, after the other was served
    with pytest.raises(UpstreamCoolingError, match="refuses yfinance itself") as held:
        budget.admit("yfinance", "quoteSummary")
    assert held.value.own_block
    send(budget, clock, provider="yahooquery")  # the other library is not held
    clock.advance(10.01)
    send(budget, clock, provider="yfinance")  # one request per window tells if it lifted
