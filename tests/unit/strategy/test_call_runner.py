"""CallRunner: calls on reusable daemon threads; a call that overruns is abandoned."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from resilient_provider.strategy.timeouts import CallRunner

WHO = contextvars.ContextVar("who", default="nobody")


@pytest.fixture
def runner() -> Iterator[CallRunner]:
    made = CallRunner(name="test-call", max_idle=2)
    yield made
    made.close()


def test_sequential_calls_reuse_one_thread(runner: CallRunner) -> None:
    threads = {runner.call(threading.get_ident, 5) for _ in range(20)}
    assert len(threads) == 1 and threading.get_ident() not in threads
    assert runner.idle() == 1


def test_a_call_runs_on_a_daemon_thread_with_the_callers_context(runner: CallRunner) -> None:
    WHO.set("caller")
    assert runner.call(lambda: (WHO.get(), threading.current_thread().daemon), 5) == (
        "caller", True)


def test_an_exception_is_raised_in_the_caller(runner: CallRunner) -> None:
    def boom() -> None:
        raise KeyError("from the call")

    with pytest.raises(KeyError, match="from the call"):
        runner.call(boom, 5)
    assert runner.call(lambda: 42, 5) == 42  # the thread survives its call's exception


def test_an_overrunning_call_times_out_and_its_thread_takes_no_other_call(runner: CallRunner) -> None:
    release = threading.Event()
    hung_on: list[int] = []

    def hang() -> None:
        hung_on.append(threading.get_ident())
        release.wait(5)

    with pytest.raises(TimeoutError):
        runner.call(hang, 0.05)
    others = {runner.call(threading.get_ident, 5) for _ in range(5)}
    assert hung_on and hung_on[0] not in others
    release.set()


def test_busy_threads_make_the_runner_start_more_up_to_max_idle_kept(runner: CallRunner) -> None:
    gate = threading.Barrier(4, timeout=5)
    results: list[int] = []
    callers = [threading.Thread(target=lambda: results.append(runner.call(gate.wait, 5)))
               for _ in range(3)]
    for caller in callers:
        caller.start()
    gate.wait()  # three calls in flight at once: three runner threads
    for caller in callers:
        caller.join(5)
    assert len(results) == 3
    assert runner.idle() == 2  # max_idle: the third thread exited after its call


def test_close_lets_idle_threads_exit() -> None:
    runner = CallRunner(name="closing-call")
    runner.call(lambda: None, 5)
    thread = next(t for t in threading.enumerate() if t.name.startswith("closing-call"))
    runner.close()
    thread.join(5)
    assert not thread.is_alive() and runner.idle() == 0
