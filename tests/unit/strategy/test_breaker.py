"""The circuit breaker's state machine, driven by a fake clock."""

from __future__ import annotations

import threading
from collections.abc import Callable

from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from resilient_provider.config import BreakerSettings
from resilient_provider.strategy.breaker import BreakerState, CircuitBreaker, Permit
from resilient_provider.testing import FakeClock


def make_breaker(clock: FakeClock, **overrides: object) -> CircuitBreaker:
    values: dict[str, object] = {"failure_threshold": 3, "window_s": 60, "reset_timeout_s": 30,
                                 "success_threshold": 2, "half_open_max_calls": 1}
    values.update(overrides)
    return CircuitBreaker("p", BreakerSettings.model_validate(values), clock=clock, trial_timeout_s=10)


def fail(breaker: CircuitBreaker, times: int = 1, **kwargs: float) -> None:
    for _ in range(times):
        permit = breaker.acquire()
        assert permit is not None
        breaker.record_failure(permit, **kwargs)


def test_opens_after_threshold_failures_within_window(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    fail(breaker)
    assert breaker.state is BreakerState.OPEN
    assert breaker.acquire() is None
    assert breaker.snapshot().trips == 1


def test_failures_outside_the_window_do_not_count(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    fail(breaker, 2)
    clock.advance(61)
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().failure_count == 2


def test_interleaved_successes_do_not_hide_a_steady_failure_stream(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    for _ in range(3):
        ok = breaker.acquire()
        assert ok is not None
        breaker.record_success(ok)
        fail(breaker)
    assert breaker.state is BreakerState.OPEN


def test_neutral_outcomes_do_not_count(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    for _ in range(10):
        permit = breaker.acquire()
        assert permit is not None
        breaker.release(permit)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().failure_count == 0


def test_open_turns_half_open_after_reset_timeout(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    fail(breaker, 3)
    clock.advance(29.9)
    assert breaker.state is BreakerState.OPEN
    assert 0 < breaker.retry_in_s() <= 0.1 + 1e-9
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_closes_after_success_threshold(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    fail(breaker, 3)
    clock.advance(30)
    for expected in (BreakerState.HALF_OPEN, BreakerState.CLOSED):
        permit = breaker.acquire()
        assert permit is not None and permit.trial
        breaker.record_success(permit)
        assert breaker.state is expected


def test_half_open_failure_reopens(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    fail(breaker, 3)
    clock.advance(30)
    fail(breaker)
    assert breaker.state is BreakerState.OPEN
    assert breaker.snapshot().trips == 2
    assert breaker.retry_in_s() == 30


def test_half_open_admits_only_max_trial_calls(clock: FakeClock) -> None:
    breaker = make_breaker(clock, half_open_max_calls=2)
    fail(breaker, 3)
    clock.advance(30)
    first, second = breaker.acquire(), breaker.acquire()
    assert first is not None and second is not None
    assert breaker.acquire() is None
    breaker.release(first)
    assert breaker.acquire() is not None


def test_stuck_trial_frees_its_slot_after_trial_timeout(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    fail(breaker, 3)
    clock.advance(30)
    assert breaker.acquire() is not None  # never reports back
    assert breaker.acquire() is None
    clock.advance(10)
    assert breaker.acquire() is not None


def test_results_of_permits_from_an_earlier_state_count_for_nothing(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    old = breaker.acquire()
    assert old is not None
    fail(breaker, 3)
    clock.advance(30)
    trial = breaker.acquire()
    assert trial is not None
    breaker.record_failure(old)  # a slow call from before the trip ends late
    assert breaker.state is BreakerState.HALF_OPEN


def test_retry_after_keeps_the_breaker_open_at_least_that_long(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    fail(breaker, 2)
    fail(breaker, hold_open_s=120)
    clock.advance(119)
    assert breaker.state is BreakerState.OPEN
    clock.advance(1)
    assert breaker.state is BreakerState.HALF_OPEN


def test_hold_open_opens_a_closed_breaker_and_extends_an_open_one(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    breaker.hold_open(100)
    assert breaker.state is BreakerState.OPEN
    breaker.hold_open(200)
    assert breaker.retry_in_s() == 200
    assert breaker.snapshot().trips == 1


def test_snapshot_reports_state_failures_trips_and_retry_time(clock: FakeClock) -> None:
    breaker = make_breaker(clock)
    fail(breaker, 1)
    snap = breaker.snapshot()
    assert (snap.state, snap.failure_count, snap.trips, snap.retry_in_s) == ("closed", 1, 0, None)
    fail(breaker, 2)
    clock.advance(5)
    snap = breaker.snapshot()
    assert (snap.state, snap.trips, snap.retry_in_s) == ("open", 1, 25)


def test_listeners_hear_every_transition(clock: FakeClock) -> None:
    heard: list[tuple[str, str]] = []
    breaker = CircuitBreaker(
        "p", BreakerSettings(failure_threshold=1, success_threshold=1), clock=clock,
        trial_timeout_s=10, listeners=(lambda _n, old, new: heard.append((old.value, new.value)),))
    fail(breaker)
    clock.advance(30)
    permit = breaker.acquire()
    assert permit is not None
    breaker.record_success(permit)
    assert heard == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_concurrent_failures_trip_exactly_once(clock: FakeClock) -> None:
    breaker = make_breaker(clock, failure_threshold=50)
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        for _ in range(10):
            permit = breaker.acquire()
            if permit is not None:
                breaker.record_failure(permit)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert breaker.state is BreakerState.OPEN
    assert breaker.snapshot().trips == 1


class BreakerMachine(RuleBasedStateMachine):
    """Random call/outcome/time sequences never break the breaker's invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.breaker = make_breaker(self.clock, half_open_max_calls=2)
        self.permits: list[Permit] = []
        self.prev_trips = 0

    @rule()
    def acquire(self) -> None:
        state_before = self.breaker.state
        permit = self.breaker.acquire()
        if state_before is BreakerState.OPEN:
            assert permit is None
        if state_before is BreakerState.CLOSED:
            assert permit is not None and not permit.trial
        if permit is not None:
            self.permits.append(permit)

    @precondition(lambda self: self.permits)
    @rule(data=st.data(), outcome=st.sampled_from(["success", "failure", "neutral"]))
    def report(self, data: st.DataObject, outcome: str) -> None:
        permit = self.permits.pop(data.draw(st.integers(0, len(self.permits) - 1)))
        actions: dict[str, Callable[[Permit], object]] = {
            "success": self.breaker.record_success, "failure": self.breaker.record_failure,
            "neutral": self.breaker.release}
        actions[outcome](permit)

    @rule(seconds=st.floats(0, 100))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def consistent(self) -> None:
        snap = self.breaker.snapshot()
        assert snap.trips >= self.prev_trips
        self.prev_trips = snap.trips
        assert (snap.retry_in_s is not None) == (snap.state == "open")
        if snap.retry_in_s is not None:
            assert 0 < snap.retry_in_s <= 30
        assert snap.failure_count < 3 or snap.state != "closed"


TestBreakerMachine = BreakerMachine.TestCase
TestBreakerMachine.settings = hyp_settings(max_examples=150, stateful_step_count=40, deadline=None)
