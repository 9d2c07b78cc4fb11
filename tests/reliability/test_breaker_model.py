"""The circuit breaker against a plain model of its contract (hypothesis stateful test).

The model is written from the contract (DESIGN.md, config.yaml's ``breaker`` section and the
breaker's documented rules), not from the code:

* CLOSED lets every call through; ``failure_threshold`` provider-health failures within the
  sliding ``window_s`` (a failure ``window_s`` old no longer counts) open it; successes and
  neutral outcomes change nothing.
* OPEN lets nothing through until ``reset_timeout_s`` has passed (longer when held open for a
  Retry-After: never shorter than what was asked), then it is HALF_OPEN.
* HALF_OPEN lets ``half_open_max_calls`` trial calls through at a time; a trial that never
  reports back frees its slot after ``trial_timeout_s``; ``success_threshold`` successful trials
  close it, one failed trial opens it again. A trial's outcome counts whenever it is reported,
  as long as the breaker has not changed state since the trial began.
* A permit from before the last change of state counts for nothing.
* ``trips`` counts the openings; of concurrent failures exactly as many report "opened" as
  the model opens.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from resilient_provider.config import BreakerSettings
from resilient_provider.strategy.breaker import BreakerState, CircuitBreaker, Permit
from resilient_provider.testing import FakeClock

from .scale import report, scale

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass
class ModelPermit:
    """What the model knows of a permit it predicted."""

    epoch: int
    trial: bool
    issued_at: float


@dataclass
class BreakerModel:
    """The breaker's contract, as plainly as it can be written."""

    threshold: int
    window_s: float
    reset_s: float
    successes_to_close: int
    max_trials: int
    trial_timeout_s: float
    state: str = CLOSED
    epoch: int = 0  # bumped at every change of state
    failures: list[float] = field(default_factory=list)
    open_until: float = 0.0
    trials: dict[int, float] = field(default_factory=dict)  # permit key -> issued at
    trial_successes: int = 0
    trips: int = 0

    def now_state(self, now: float) -> str:
        if self.state == OPEN and now >= self.open_until:
            self._become(HALF_OPEN)
        return self.state

    def _become(self, state: str) -> None:
        self.state = state
        self.epoch += 1
        self.failures = []
        self.trials = {}
        self.trial_successes = 0

    def _open(self, now: float, hold_s: float) -> None:
        self.open_until = now + max(self.reset_s, hold_s)
        self.trips += 1
        self._become(OPEN)

    def failures_in_window(self, now: float) -> int:
        return sum(1 for t in self.failures if now - t < self.window_s)

    def acquire(self, key: int, now: float) -> ModelPermit | None:
        state = self.now_state(now)
        if state == CLOSED:
            return ModelPermit(self.epoch, False, now)
        if state == OPEN:
            return None
        live = {k: t for k, t in self.trials.items() if now - t < self.trial_timeout_s}
        self.trials = live
        if len(live) >= self.max_trials:
            return None
        self.trials[key] = now
        return ModelPermit(self.epoch, True, now)

    def success(self, key: int, permit: ModelPermit, now: float) -> None:
        if permit.epoch != self.epoch or not permit.trial:
            return
        self.trials.pop(key, None)
        self.trial_successes += 1
        if self.trial_successes >= self.successes_to_close:
            self._become(CLOSED)

    def failure(self, key: int, permit: ModelPermit, now: float, hold_s: float) -> bool:
        if permit.epoch != self.epoch:
            return False
        state = self.now_state(now)
        if state == HALF_OPEN and permit.trial:
            self._open(now, hold_s)
            return True
        if state == CLOSED:
            self.failures = [t for t in self.failures if now - t < self.window_s] + [now]
            if len(self.failures) >= self.threshold:
                self._open(now, hold_s)
                return True
        return False

    def release(self, key: int, permit: ModelPermit) -> None:
        if permit.epoch == self.epoch and permit.trial:
            self.trials.pop(key, None)

    def hold_open(self, now: float, for_s: float) -> bool:
        if self.now_state(now) == OPEN:
            self.open_until = max(self.open_until, now + for_s)
            return False
        self._open(now, for_s)
        return True


#: Free time steps (``wait_about`` hits the breaker's own durations and their boundaries).
STEPS = st.one_of(st.sampled_from([0.0, 0.001, 1.0]), st.floats(0, 120, allow_nan=False))

EXAMPLES = scale(150, 2000)
pytestmark = pytest.mark.timeout(scale(60, 900))  # the long version runs ~2 minutes
_counted = {"examples": 0, "steps": 0}


class BreakerAgainstModel(RuleBasedStateMachine):
    """Random calls, outcomes, holds and time steps: the breaker does what the model does."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.outstanding: list[tuple[int, Permit, ModelPermit]] = []
        self.keys = 0
        _counted["examples"] += 1

    @initialize(threshold=st.integers(1, 4), window_s=st.sampled_from([10.0, 30.0, 60.0]),
                reset_s=st.sampled_from([5.0, 30.0]), to_close=st.integers(1, 3),
                max_trials=st.integers(1, 3), trial_timeout_s=st.sampled_from([1.0, 10.0]))
    def build(self, threshold: int, window_s: float, reset_s: float, to_close: int,
              max_trials: int, trial_timeout_s: float) -> None:
        settings = BreakerSettings(failure_threshold=threshold, window_s=window_s,
                                   reset_timeout_s=reset_s, success_threshold=to_close,
                                   half_open_max_calls=max_trials)
        self.breaker = CircuitBreaker("p", settings, clock=self.clock,
                                      trial_timeout_s=trial_timeout_s)
        self.model = BreakerModel(threshold, window_s, reset_s, to_close, max_trials,
                                  trial_timeout_s)

    def _step(self) -> None:
        _counted["steps"] += 1

    @rule()
    def acquire(self) -> None:
        self._step()
        self.keys += 1
        permit = self.breaker.acquire()
        expected = self.model.acquire(self.keys, self.clock())
        assert (permit is None) == (expected is None), (permit, expected, self.model)
        if permit is not None and expected is not None:
            assert permit.trial == expected.trial
            self.outstanding.append((self.keys, permit, expected))

    @precondition(lambda self: self.outstanding)
    @rule(data=st.data(), outcome=st.sampled_from(["success", "failure", "neutral"]),
          hold_s=st.sampled_from([0.0, 0.0, 45.0, 120.0]))
    def report_outcome(self, data: st.DataObject, outcome: str, hold_s: float) -> None:
        self._step()
        index = data.draw(st.integers(0, len(self.outstanding) - 1))
        key, permit, expected = self.outstanding.pop(index)
        now = self.clock()
        if outcome == "success":
            self.breaker.record_success(permit)
            self.model.success(key, expected, now)
        elif outcome == "failure":
            opened = self.breaker.record_failure(permit, hold_open_s=hold_s or None)
            assert opened == self.model.failure(key, expected, now, hold_s)
        else:
            self.breaker.release(permit)
            self.model.release(key, expected)

    @rule(for_s=st.sampled_from([1.0, 45.0, 300.0]))
    def hold_open(self, for_s: float) -> None:
        self._step()
        assert self.breaker.hold_open(for_s) == self.model.hold_open(self.clock(), for_s)

    @rule(seconds=STEPS)
    def wait(self, seconds: float) -> None:
        self._step()
        self.clock.advance(seconds)

    @rule(unit=st.sampled_from(["trial_timeout_s", "reset_s", "window_s"]),
          factor=st.sampled_from([0.5, 0.999, 1.0, 1.001, 1.5]))
    def wait_about(self, unit: str, factor: float) -> None:
        """A step just short of, at, or just past one of the breaker's own durations."""
        self._step()
        self.clock.advance(getattr(self.model, unit) * factor)

    @rule(calls=st.integers(2, 6))
    def concurrent_failures(self, calls: int) -> None:
        """Several calls take permits, then all fail at once from their own threads."""
        self._step()
        taken: list[tuple[int, Permit, ModelPermit]] = []
        for _ in range(calls):
            self.keys += 1
            permit = self.breaker.acquire()
            expected = self.model.acquire(self.keys, self.clock())
            assert (permit is None) == (expected is None)
            if permit is not None and expected is not None:
                taken.append((self.keys, permit, expected))
        opened: list[bool] = []
        barrier = threading.Barrier(len(taken)) if taken else None

        def fail(permit: Permit) -> None:
            assert barrier is not None
            barrier.wait(timeout=5)
            opened.append(self.breaker.record_failure(permit))

        threads = [threading.Thread(target=fail, args=(p,)) for _, p, _ in taken]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=5)
        now = self.clock()
        expected_opens = sum(self.model.failure(k, m, now, 0.0) for k, _, m in taken)
        assert sum(opened) == expected_opens and len(opened) == len(taken)

    @invariant()
    def agrees_with_model(self) -> None:
        if not hasattr(self, "model"):
            return
        now = self.clock()
        expected_state = self.model.now_state(now)
        snapshot = self.breaker.snapshot()
        assert snapshot.state == expected_state, (snapshot, self.model)
        assert self.breaker.state is BreakerState(expected_state)
        assert snapshot.trips == self.model.trips
        if expected_state == CLOSED:
            assert snapshot.failure_count == self.model.failures_in_window(now)
            assert snapshot.retry_in_s is None and self.breaker.retry_in_s() == 0.0
        elif expected_state == OPEN:
            assert abs(self.breaker.retry_in_s() - (self.model.open_until - now)) < 1e-6
        else:
            assert self.breaker.retry_in_s() == 0.0


BreakerAgainstModel.TestCase.settings = hyp_settings(
    max_examples=EXAMPLES, stateful_step_count=40, deadline=None)
TestBreakerAgainstModel = BreakerAgainstModel.TestCase


def test_a_trial_reporting_after_its_slot_timed_out_still_counts() -> None:
    """The case the machine found (1,000 examples): a trial outlives trial_timeout_s, a second
    trial takes its slot, then the first succeeds. It counted only if no call had come in
    between (the slot was expired lazily, on the next acquire), so the same history closed the
    breaker or left it half-open depending on an unrelated call."""
    machine = BreakerAgainstModel()
    machine.build(threshold=1, window_s=10.0, reset_s=5.0, to_close=1, max_trials=1,
                  trial_timeout_s=1.0)
    machine.acquire()
    first = machine.outstanding.pop()
    machine.model.failure(first[0], first[2], machine.clock(), 0.0)
    assert machine.breaker.record_failure(first[1])
    machine.wait(5.0)
    machine.acquire()  # the first trial
    machine.wait(1.0)
    machine.acquire()  # its slot timed out: a second trial
    key, permit, expected = machine.outstanding[0]
    machine.breaker.record_success(permit)
    machine.model.success(key, expected, machine.clock())
    machine.agrees_with_model()
    assert machine.breaker.state is BreakerState.CLOSED


def test_zz_report_breaker_model_figures() -> None:
    """Report what the model test ran (this runs after it: pytest keeps file order)."""
    report("breaker_model", examples=_counted["examples"], steps=_counted["steps"])
    assert _counted["examples"] > 0
