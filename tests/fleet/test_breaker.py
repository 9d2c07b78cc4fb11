"""Shared breakers on a private Redis: one state machine for the fleet, on Redis's clock, with
the local breaker taking over while Redis is down.

Redis's time is real time, so the periods here are a tenth of a second and the waits for them
bounded polls; each SharedBreaker (with its own link) stands for one worker.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import pytest
from redis.crc import key_slot

from resilient_provider.config import BreakerSettings
from resilient_provider.shared.breaker import SharedBreaker, SharedPermit
from resilient_provider.shared.breaker_script import TTL_MARGIN_MS
from resilient_provider.shared.link import RedisLink
from resilient_provider.strategy.breaker import BreakerState, Permit
from resilient_provider.testing import FakeClock
from tests.redis_server import RedisServer

from .conftest import shared_settings

Worker = Callable[..., SharedBreaker]


def breaker_settings(**overrides: object) -> BreakerSettings:
    values: dict[str, object] = {"failure_threshold": 3, "window_s": 60, "reset_timeout_s": 30,
                                 "success_threshold": 2, "half_open_max_calls": 1}
    values.update(overrides)
    return BreakerSettings.model_validate(values)


@pytest.fixture
def worker(redis_server: RedisServer, key_prefix: str) -> Iterator[Worker]:
    """Builds workers: a SharedBreaker "p" over a link of its own, on the session's server
    unless ``url`` says otherwise."""
    links: list[RedisLink] = []

    def make(*, url: str | None = None, clock: Callable[[], float] | None = None,
             link_clock: Callable[[], float] = time.monotonic, retry_down_s: float = 5.0,
             trial_timeout_s: float = 10.0, name: str = "p",
             listeners: tuple[Callable[[str, BreakerState, BreakerState], None], ...] = (),
             **overrides: object) -> SharedBreaker:
        link = RedisLink(shared_settings(url or redis_server.unix_url, key_prefix,
                                         retry_down_s=retry_down_s), clock=link_clock)
        links.append(link)
        return SharedBreaker(name, breaker_settings(**overrides), link=link,
                             clock=clock or FakeClock(), trial_timeout_s=trial_timeout_s,
                             listeners=listeners)

    yield make
    for link in links:
        link.close()


def state_of(breaker: SharedBreaker) -> BreakerState:
    """The state, read afresh (mypy would keep the narrowing of an earlier ``.state``)."""
    return breaker.state


def permit_of(breaker: SharedBreaker) -> Permit:
    permit = breaker.acquire()
    assert permit is not None
    return permit


def fail(breaker: SharedBreaker, times: int = 1) -> list[bool]:
    return [breaker.record_failure(permit_of(breaker)) for _ in range(times)]


def wait_for(condition: Callable[[], bool], within_s: float = 1.0) -> None:
    """Poll ``condition`` (Redis's clock is real time) for at most ``within_s``."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def half_open(breaker: SharedBreaker) -> None:
    wait_for(lambda: breaker.state is BreakerState.HALF_OPEN)


# --- the state machine, fleet-wide -------------------------------------------------------------


def test_failures_of_two_workers_open_the_breaker_for_both(worker: Worker) -> None:
    a, b = worker(), worker()
    assert fail(a, 2) == [False, False]
    assert fail(b) == [True]
    assert state_of(a) is BreakerState.OPEN and state_of(b) is BreakerState.OPEN
    assert a.acquire() is None and b.acquire() is None
    snapshot = a.snapshot()
    assert snapshot.trips == 1 and snapshot.retry_in_s is not None and snapshot.retry_in_s > 29
    assert snapshot.open_for_s is not None and snapshot.open_for_s < 1


def test_failures_outside_the_window_do_not_count(worker: Worker) -> None:
    a, b = worker(window_s=0.15), worker(window_s=0.15)
    fail(a, 2)
    time.sleep(0.2)  # real time: the window runs on Redis's clock
    fail(b, 2)
    assert state_of(a) is BreakerState.CLOSED
    assert a.snapshot().failure_count == 2


def test_of_concurrent_failures_fleet_wide_exactly_one_opens_it(worker: Worker) -> None:
    workers = [worker() for _ in range(4)]
    permits = [(w, permit_of(w)) for w in workers for _ in range(3)]
    start = threading.Barrier(len(permits))
    opened: list[bool] = []

    def report(w: SharedBreaker, permit: Permit) -> None:
        start.wait()
        opened.append(w.record_failure(permit))

    threads = [threading.Thread(target=report, args=pair) for pair in permits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert opened.count(True) == 1
    assert workers[0].snapshot().trips == 1


def test_half_open_trials_are_at_most_half_open_max_calls_fleet_wide(worker: Worker) -> None:
    workers = [worker(reset_timeout_s=0.1, half_open_max_calls=2) for _ in range(4)]
    fail(workers[0], 3)
    half_open(workers[1])
    start = threading.Barrier(4 * 8)
    granted: list[Permit] = []

    def try_trial(w: SharedBreaker) -> None:
        start.wait()
        permit = w.acquire()
        if permit is not None:
            granted.append(permit)

    threads = [threading.Thread(target=try_trial, args=(w,)) for w in workers for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 2
    assert all(p.trial and isinstance(p, SharedPermit) for p in granted)
    assert len({p.id for p in granted}) == 2


def test_success_threshold_trial_successes_close_it(worker: Worker) -> None:
    a, b = (worker(reset_timeout_s=0.1, half_open_max_calls=2) for _ in range(2))
    fail(a, 3)
    half_open(b)
    first, second = permit_of(a), permit_of(b)
    a.record_success(first)
    assert state_of(b) is BreakerState.HALF_OPEN
    b.record_success(second)
    assert state_of(a) is BreakerState.CLOSED
    assert a.snapshot().open_for_s is None


def test_a_failed_trial_reopens_it_and_its_sibling_counts_for_nothing(worker: Worker) -> None:
    a, b = worker(reset_timeout_s=0.1, half_open_max_calls=2, success_threshold=1), worker()
    fail(a, 3)
    half_open(a)
    failing, stale = permit_of(a), permit_of(a)
    assert b.record_failure(failing) is True
    b.record_success(stale)  # of the half-open period that ended
    assert state_of(a) is BreakerState.OPEN
    assert a.snapshot().trips == 2


def test_a_trial_that_never_reports_frees_its_slot_after_the_trial_timeout(
        worker: Worker) -> None:
    a = worker(reset_timeout_s=0.1, trial_timeout_s=0.1)
    fail(a, 3)
    half_open(a)
    permit_of(a)  # never reports
    assert a.acquire() is None  # the one slot is taken
    time.sleep(0.12)  # real time: the trial timeout, on Redis's clock
    assert permit_of(a).trial


def test_a_late_trial_report_still_counts_towards_closing(worker: Worker) -> None:
    a = worker(reset_timeout_s=0.1, trial_timeout_s=0.1)
    fail(a, 3)
    half_open(a)
    silent = permit_of(a)
    time.sleep(0.12)  # real time: the trial timeout, on Redis's clock
    second = permit_of(a)
    a.record_success(silent)
    a.record_success(second)
    assert state_of(a) is BreakerState.CLOSED


def test_hold_open_keeps_it_open_for_all(worker: Worker) -> None:
    a, b = worker(reset_timeout_s=0.1), worker(reset_timeout_s=0.1)
    assert a.hold_open(30) is True
    assert 29 < b.retry_in_s() <= 30
    assert b.hold_open(60) is False  # open already: only held longer
    assert 59 < a.retry_in_s() <= 60
    assert a.snapshot().trips == 1


def test_a_retry_after_keeps_the_breaker_it_opens_open_that_long(worker: Worker) -> None:
    a, b = worker(), worker()
    fail(a, 2)
    assert b.record_failure(permit_of(b), hold_open_s=45) is True
    assert 44 < a.retry_in_s() <= 45


def test_a_permit_of_an_earlier_state_counts_for_nothing(worker: Worker) -> None:
    a, b = worker(reset_timeout_s=0.1), worker(reset_timeout_s=0.1)
    old = permit_of(a)
    b.hold_open(0.1)
    half_open(a)
    assert a.record_failure(old) is False
    assert state_of(b) is BreakerState.HALF_OPEN


def test_listeners_hear_what_a_worker_causes_and_what_it_observes(worker: Worker) -> None:
    heard_a: list[tuple[str, BreakerState, BreakerState]] = []
    heard_b: list[tuple[str, BreakerState, BreakerState]] = []
    a = worker(listeners=(lambda *t: heard_a.append(t),), reset_timeout_s=0.1,
               success_threshold=1)
    b = worker(listeners=(lambda *t: heard_b.append(t),))
    fail(a, 3)
    assert heard_a == [("p", BreakerState.CLOSED, BreakerState.OPEN)]
    assert b.acquire() is None
    assert heard_b == [("p", BreakerState.CLOSED, BreakerState.OPEN)]
    half_open(a)
    a.record_success(permit_of(a))
    assert heard_a[1:] == [("p", BreakerState.OPEN, BreakerState.HALF_OPEN),
                           ("p", BreakerState.HALF_OPEN, BreakerState.CLOSED)]


# --- keys and time --------------------------------------------------------------------------------


def test_every_key_has_a_ttl_and_one_breakers_keys_one_hash_tag(
        worker: Worker, redis_server: RedisServer, key_prefix: str) -> None:
    closed = worker(name="closed")
    fail(closed)  # a failure in the window
    trying = worker(name="trying", reset_timeout_s=0.1)
    fail(trying, 3)
    half_open(trying)
    permit_of(trying)  # an unreported trial
    client = redis_server.client()
    keys = sorted(client.scan_iter(match=f"{key_prefix}:*"))
    assert keys == sorted(k.encode() for k in (*closed.keys[:2], trying.keys[0],
                                               trying.keys[2]))
    # window_s (60 s, the longest period) + the margin
    assert all(0 < client.pttl(key) <= 60_000 + TTL_MARGIN_MS for key in keys)
    assert len({key_slot(k.encode()) for k in trying.keys}) == 1
    assert all("{trying}" in k for k in trying.keys)


def test_a_worker_clock_hours_off_changes_nothing(worker: Worker) -> None:
    now = time.time()
    behind = worker(clock=FakeClock(start=now - 3 * 3600), reset_timeout_s=0.1,
                    success_threshold=1)
    ahead = worker(clock=FakeClock(start=now + 5 * 3600), reset_timeout_s=0.1,
                   success_threshold=1)
    fail(behind, 3)
    assert 0 < ahead.retry_in_s() <= 0.1
    half_open(ahead)  # its own clock never moved: Redis's time did
    ahead.record_success(permit_of(ahead))
    assert state_of(behind) is BreakerState.CLOSED


# --- Redis down, and back ---------------------------------------------------------------------------


def test_redis_killed_mid_run_no_exception_escapes_and_the_local_breaker_opens(
        worker: Worker, own_redis: RedisServer) -> None:
    clock = FakeClock()
    a = worker(url=own_redis.url, clock=clock, link_clock=clock, failure_threshold=3)
    assert isinstance(permit_of(a), SharedPermit)
    errors: list[BaseException] = []
    stop = threading.Event()

    def call_on() -> None:
        try:
            while not stop.is_set():
                permit = a.acquire()
                if permit is not None:
                    a.release(permit)
                a.snapshot()
        except BaseException as exc:  # noqa: BLE001 - what the test looks for
            errors.append(exc)

    threads = [threading.Thread(target=call_on) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)  # real time: the threads call on Redis
    own_redis.kill()
    time.sleep(0.05)  # real time: and on the local breaker
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    local = permit_of(a)
    assert not isinstance(local, SharedPermit)  # Redis down: the local breaker's permit
    a.record_failure(local)
    assert fail(a, 2) == [False, True]
    assert state_of(a) is BreakerState.OPEN and a.acquire() is None


def test_on_redis_return_a_locally_open_breaker_is_pushed(worker: Worker,
                                                          own_redis: RedisServer) -> None:
    clock = FakeClock()
    a = worker(url=own_redis.url, clock=clock, link_clock=clock, retry_down_s=1)
    a.acquire()
    own_redis.kill()
    fail(a, 3)  # opens the local breaker (reset_timeout_s 30)
    own_redis.start()  # empty: what Redis knew is lost
    clock.advance(2)  # retry_down_s is up: the next operation reaches Redis
    assert state_of(a) is BreakerState.OPEN
    other = worker(url=own_redis.url)
    assert state_of(other) is BreakerState.OPEN
    assert 27 < other.retry_in_s() <= 28  # the rest of its open time
    client = own_redis.client()
    assert all(client.pttl(key) > 0 for key in client.scan_iter(match="*"))


def test_a_shared_permits_failure_with_redis_down_counts_locally(
        worker: Worker, own_redis: RedisServer) -> None:
    a = worker(url=own_redis.url)
    shared = permit_of(a)
    own_redis.kill()
    assert a.record_failure(shared) is False
    assert a.local.snapshot().failure_count == 1


def test_local_permits_report_to_the_local_breaker_after_redis_returns(
        worker: Worker, own_redis: RedisServer) -> None:
    clock = FakeClock()
    a = worker(url=own_redis.url, clock=clock, link_clock=clock, retry_down_s=1)
    a.acquire()
    own_redis.kill()
    local = permit_of(a)
    own_redis.start()
    clock.advance(2)
    assert isinstance(permit_of(a), SharedPermit)  # Redis is back
    a.record_failure(local)
    assert a.local.snapshot().failure_count == 1
    assert a.snapshot().failure_count == 0


def test_listeners_hear_the_local_breaker_while_redis_is_down(worker: Worker,
                                                              own_redis: RedisServer) -> None:
    heard: list[tuple[str, BreakerState, BreakerState]] = []
    a = worker(url=own_redis.url, listeners=(lambda *t: heard.append(t),))
    a.acquire()
    own_redis.kill()
    fail(a, 3)
    assert heard == [("p", BreakerState.CLOSED, BreakerState.OPEN)]


def test_an_open_breaker_seen_in_redis_stays_open_when_redis_dies(
        worker: Worker, own_redis: RedisServer) -> None:
    a, b = worker(url=own_redis.url), worker(url=own_redis.url)
    fail(b, 3)
    assert a.acquire() is None  # seen open in Redis: mirrored locally
    own_redis.kill()
    assert a.acquire() is None
    assert state_of(a) is BreakerState.OPEN


# --- acceptance 5: upstream down, a fleet of processes -------------------------------------------

FLEET = 4
FLEET_SETTINGS = {"failure_threshold": 5, "window_s": 60, "reset_timeout_s": 0.08,
                  "success_threshold": 1, "half_open_max_calls": 2}


#: One call of the fleet: permit id, generation, trial, issued by Redis, when its worker asked
#: for the permit and when it reported the failure (monotonic: one clock for the processes of a
#: machine), whether that failure opened the breaker.
Call = tuple[int, int, bool, bool, float, float, bool]


def _hammer(url: str, prefix: str, start: Event, stop: Event, out: Queue[list[Call]]) -> None:
    """One worker process: every call fails (the upstream is down); each takes 2 ms."""
    link = RedisLink(shared_settings(url, prefix))
    breaker = SharedBreaker("upstream", breaker_settings(**FLEET_SETTINGS), link=link,
                            clock=time.time, trial_timeout_s=5)
    calls: list[Call] = []
    start.wait(5)
    while not stop.is_set():
        asked_at = time.monotonic()
        permit = breaker.acquire()
        if permit is None:
            time.sleep(0.001)
            continue
        time.sleep(0.002)  # real time: the failing call in flight
        opened = breaker.record_failure(permit)
        calls.append((permit.id, permit.generation, permit.trial,
                      isinstance(permit, SharedPermit), asked_at, time.monotonic(), opened))
    link.close()
    out.put(calls)


def test_acceptance_5_an_upstream_down_costs_the_fleet_threshold_calls_and_few_trials(
        redis_server: RedisServer, key_prefix: str) -> None:
    context = multiprocessing.get_context("fork")
    start, stop = context.Event(), context.Event()
    out: Queue[list[Call]] = context.Queue()
    processes = [context.Process(target=_hammer,
                                 args=(redis_server.unix_url, key_prefix, start, stop, out))
                 for _ in range(FLEET)]
    for process in processes:
        process.start()
    start.set()
    time.sleep(0.6)  # real time: several open and half-open periods on Redis's clock
    stop.set()
    calls = [call for _ in processes for call in out.get(timeout=5)]
    for process in processes:
        process.join(timeout=5)
    assert all(call[3] for call in calls)  # Redis was up: every permit was the fleet's
    assert len({call[0] for call in calls}) == len(calls)  # permit ids unique fleet-wide
    closed = [call for call in calls if not call[2]]
    opening = [call for call in closed if call[6]]
    assert len(opening) == 1  # one failure opened it; no trial ever closed it
    opened_at = opening[0][5]
    # Calls already in flight when it opened: their permits were issued before, their failures
    # reported after. No worker was given a permit it asked for after the opening failure.
    # (Counted by when each report came back, which may trail Redis's order by a hair: so
    # the bound is on the calls that can be in flight, one per other process.)
    in_flight = sum(1 for call in closed if call[5] > opened_at)
    assert all(call[4] < opened_at for call in closed)
    threshold = int(FLEET_SETTINGS["failure_threshold"])
    assert len(closed) <= threshold + (FLEET - 1)  # each process has one call at a time
    assert in_flight <= FLEET - 1
    trials = Counter(call[1] for call in calls if call[2])
    print(f"\nacceptance 5: {FLEET} processes, upstream down, failure_threshold {threshold}: "
          f"{len(closed)} failing calls fleet-wide ({threshold} + {in_flight} in flight); "
          f"{sum(trials.values())} trials in {len(trials)} half-open periods, at most "
          f"{max(trials.values(), default=0)} in one (half_open_max_calls "
          f"{FLEET_SETTINGS['half_open_max_calls']:g}); {len(calls)} calls in all")
    assert len(trials) >= 2
    assert max(trials.values()) <= FLEET_SETTINGS["half_open_max_calls"]
