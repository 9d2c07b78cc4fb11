"""DaemonThreadPool: a ThreadPoolExecutor's behaviour on threads interpreter exit does not join."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError

import pytest

from resilient_provider.strategy.timeouts import CallRunner
from resilient_provider.threads import DaemonThreadPool

WAIT_S = 10.0  # a bound on waits for other threads, never reached when the test passes


def test_results_and_exceptions_reach_the_caller() -> None:
    with DaemonThreadPool(2) as pool:
        assert list(pool.map(lambda n: n * n, range(5))) == [0, 1, 4, 9, 16]
        failing = pool.submit(int, "not a number")
        with pytest.raises(ValueError, match="not a number"):
            failing.result(timeout=WAIT_S)


def test_its_threads_are_daemon_threads() -> None:
    with DaemonThreadPool(1, name="rp-test") as pool:
        thread = pool.submit(threading.current_thread).result(timeout=WAIT_S)
    assert thread.daemon and thread.name.startswith("rp-test-")


def test_no_more_than_max_workers_run_and_queued_work_runs_when_one_frees() -> None:
    release = threading.Event()
    lock = threading.Lock()
    running = [0]
    most = [0]

    def job() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(WAIT_S)
        with lock:
            running[0] -= 1

    pool = DaemonThreadPool(2)
    futures = [pool.submit(job) for _ in range(5)]
    release.set()
    for future in futures:
        future.result(timeout=WAIT_S)
    pool.shutdown()
    assert most[0] <= 2 and len(pool._threads) == 2


def test_a_thread_freed_takes_new_work_instead_of_a_new_thread_starting() -> None:
    with DaemonThreadPool(4) as pool:
        for _ in range(20):
            pool.submit(lambda: None).result(timeout=WAIT_S)
        assert len(pool._threads) == 1


def test_shutdown_cancels_queued_work_and_refuses_more() -> None:
    started, release = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return release.wait(WAIT_S)

    pool = DaemonThreadPool(1)
    busy = pool.submit(hold)
    # Only once the worker runs it is the first call in flight, not queued: on a busy machine
    # shutdown could otherwise cancel both.
    assert started.wait(WAIT_S)
    queued = pool.submit(lambda: "never")
    pool.shutdown(wait=False, cancel_futures=True)
    with pytest.raises(CancelledError):
        queued.result(timeout=WAIT_S)
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)
    release.set()
    assert busy.result(timeout=WAIT_S) is True


def test_max_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_workers"):
        DaemonThreadPool(0)


def _in_a_forked_child(work: Callable[[], str]) -> str:
    """``work()`` run in a forked child; what it returned (or the error it raised)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            try:
                answer = work()
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                answer = f"{type(exc).__name__}: {exc}"
            os.write(write, answer.encode())
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 200).decode()
    os.waitpid(pid, 0)
    return answer


def test_a_pool_used_before_a_fork_works_in_the_forked_child() -> None:
    # Its threads stay in the parent: in a child (a worker forked after the façade was
    # built) work queued for them waited for ever.
    pool = DaemonThreadPool(1, name="rp-test")
    assert pool.submit(lambda: 1).result(timeout=10) == 1
    try:
        assert _in_a_forked_child(lambda: str(pool.submit(lambda: 2).result(timeout=5))) == "2"
    finally:
        pool.shutdown()


def test_a_call_runner_used_before_a_fork_works_in_the_forked_child() -> None:
    runner = CallRunner(name="rp-test")
    assert runner.call(lambda: 1, 10) == 1
    try:
        assert _in_a_forked_child(lambda: str(runner.call(lambda: 2, 5))) == "2"
    finally:
        runner.close()
