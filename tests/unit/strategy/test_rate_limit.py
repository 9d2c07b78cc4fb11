"""The client-side rate limit: paces symbols per provider, waits only within a bound."""

from __future__ import annotations

import pytest

from resilient_provider.result import DataSource
from resilient_provider.strategy.rate_limit import RateLimiter
from resilient_provider.testing import FakeClock, ScriptedProvider
from tests.conftest import MakeFacade


def limiter(per_s: float, clock: FakeClock) -> RateLimiter:
    return RateLimiter(per_s, clock=clock, sleep=clock.sleep, name="p")


def test_a_burst_up_to_the_rate_is_let_through_without_waiting(clock: FakeClock) -> None:
    rl = limiter(5, clock)
    assert [rl.acquire(1, max_wait_s=0) for _ in range(5)] == [0.0] * 5
    assert clock.sleeps == []


def test_the_next_permit_waits_for_the_window_to_move(clock: FakeClock) -> None:
    rl = limiter(5, clock)
    rl.acquire(5, max_wait_s=0)
    waited = rl.acquire(1, max_wait_s=5)
    assert waited is not None and 0.99 <= waited <= 1.01
    assert sum(clock.sleeps) == pytest.approx(waited)


def test_a_sustained_stream_is_held_to_the_rate(clock: FakeClock) -> None:
    rl = limiter(4, clock)
    start = clock()
    for _ in range(40):
        assert rl.acquire(1, max_wait_s=10) is not None
    # 40 permits at 4/s: the first 4 are free, the other 36 take 9 windows of one second.
    assert clock() - start == pytest.approx(9.0, abs=0.05)


def test_more_units_than_one_burst_are_taken_in_pieces(clock: FakeClock) -> None:
    rl = limiter(2, clock)
    waited = rl.acquire(7, max_wait_s=10)
    assert waited == pytest.approx(3.0, abs=0.01)  # 2 now, 2 + 2 + 1 over three more seconds


def test_a_rate_below_one_per_second_stretches_the_window(clock: FakeClock) -> None:
    rl = limiter(0.5, clock)
    assert rl.acquire(1, max_wait_s=0) == 0.0
    assert rl.acquire(1, max_wait_s=10) == pytest.approx(2.0, abs=0.01)


def test_a_permit_that_would_come_too_late_is_refused_without_waiting(clock: FakeClock) -> None:
    rl = limiter(1, clock)
    rl.acquire(1, max_wait_s=0)
    assert rl.acquire(1, max_wait_s=0.5) is None
    assert clock.sleeps == []


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_a_rate_that_is_not_positive_and_finite_is_rejected(bad: float, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="per_s"):
        limiter(bad, clock)


def test_the_facade_paces_calls_to_a_provider(make_facade: MakeFacade, clock: FakeClock) -> None:
    primary = ScriptedProvider("one")
    facade = make_facade(primary, provider_defaults={"rate_limit_per_s": 2})
    start = clock()
    results = [facade.fetch(f"S{i}") for i in range(6)]
    assert all(r.source is DataSource.PRIMARY for r in results)
    assert clock() - start == pytest.approx(2.0, abs=0.05)  # 2 free, then 2 per second


def test_a_throttled_provider_is_skipped_for_the_next_source(make_facade: MakeFacade,
                                                              clock: FakeClock) -> None:
    primary, secondary = ScriptedProvider("one"), ScriptedProvider("two")
    facade = make_facade(primary, secondary, deadline_s=0.5,
                         providers=[{"name": "one", "rate_limit_per_s": 1},
                                    {"name": "two", "rate_limit_per_s": 0}])
    assert facade.fetch("AAPL").source is DataSource.PRIMARY
    second = facade.fetch("MSFT")  # the next permit is a second away; the deadline is 0.5 s
    assert second.source is DataSource.FALLBACK
    assert second.attempts[0].error_code == "throttled"
    assert second.attempts[0].outcome == "skipped"
    assert primary.calls == [["AAPL"]]
    stats = facade.get_reliability_stats()["providers"]["one"]
    assert stats["skipped"] == {"throttled": 1}
    assert stats["breaker"]["failure_count"] == 0  # our own limit says nothing of its health
