"""The worker processes of the fleet benchmarks (:mod:`.bench_fleet`, :mod:`.bench_fleet_outages`).

Workers are spawned processes (nothing inherited), kept for a whole run so the imports are paid
once; each runs the tasks it is sent: a batch on a façade of its own, or two threads pacing
through a shared budget.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

WORKERS = 8
BUDGET_WORKERS, BUDGET_PER_S = 4, 5.0


# --- in the worker processes -------------------------------------------------------------------

def _worker(index: int, tasks: Any, replies: Any) -> None:
    """One worker: runs each task it is sent (built, then "ready", then waits for "go") until
    it is sent None."""
    logging.disable(logging.WARNING)  # outages warn by design; the figures say what happened

    def ready() -> None:
        replies.put((index, "ready", os.getpid()))
        tasks.get()

    while (task := tasks.get()) is not None:
        kind, args = task
        outcome = _batch(*args, ready=ready) if kind == "batch" else _paced(*args, ready=ready)
        replies.put((index, "done", outcome))


def _batch(built: Any, symbols: list[str], *, ready: Callable[[], None]) -> dict[str, Any]:
    from resilient_provider import ResilientProvider

    with ResilientProvider(settings=built) as provider:
        ready()
        started = time.perf_counter()
        results = provider.batch_fetch(symbols, progress=False)
        seconds = time.perf_counter() - started
        fleet = provider.fleet.figures() if provider.fleet is not None else {}
    return {"asked": len(symbols), "seconds": seconds,
            "answered": sum(1 for r in results.values() if r.success and r.data),
            "sources": dict(Counter(r.source.value for r in results.values())),
            "waited": fleet.get("answered_by_other_workers", 0),
            "taken_over": fleet.get("taken_over", 0)}


def _paced(url: str, prefix: str, run_s: float, *, ready: Callable[[], None]) -> list[float]:
    """Two threads sending as fast as a shared budget of BUDGET_PER_S lets them, for ``run_s``;
    when each request went out (the wall clock, alike in every process)."""
    from resilient_provider.config import SharedSettings, UpstreamSettings
    from resilient_provider.errors import ThrottledError, UpstreamCoolingError
    from resilient_provider.providers.gate import REQUEST_DEADLINE
    from resilient_provider.shared.budget import SharedUpstreamBudget
    from resilient_provider.shared.link import RedisLink
    from resilient_provider.strategy.timeouts import Deadline

    link = RedisLink(SharedSettings.model_validate(
        {"enabled": True, "redis_url": url, "key_prefix": prefix,
         "expected_workers": BUDGET_WORKERS}))
    budget = SharedUpstreamBudget(
        "yahoo", UpstreamSettings(initial_rate_per_s=BUDGET_PER_S, max_rate_per_s=BUDGET_PER_S),
        link, clock=time.time, sleep=time.sleep)
    sends: list[float] = []
    ready()
    end = time.time() + run_s

    def send_until_the_end() -> None:
        while (left := end - time.time()) > 0:
            token = REQUEST_DEADLINE.set(Deadline(left, time.time))
            try:
                ticket = budget.admit("yfinance", "quoteSummary")
            except (ThrottledError, UpstreamCoolingError):
                return  # the next slot would come after the end
            finally:
                REQUEST_DEADLINE.reset(token)
            sends.append(time.time())
            time.sleep(0.005)  # the upstream answering
            budget.settle(ticket, status=200)

    threads = [threading.Thread(target=send_until_the_end) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    link.close()
    return sends


# --- in this process ---------------------------------------------------------------------------

class Pool:
    """WORKERS spawned worker processes and the queues to them."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.replies: Any = context.Queue()
        self.tasks: list[Any] = [context.Queue() for _ in range(WORKERS)]
        self.processes = [context.Process(target=_worker, args=(i, q, self.replies), daemon=True)
                          for i, q in enumerate(self.tasks)]
        self.dead: set[int] = set()
        for process in self.processes:
            process.start()

    def run(self, tasks: Mapping[int, tuple[str, tuple[Any, ...]]],
            during: Callable[[dict[int, int]], set[int]] | None = None) -> dict[int, Any]:
        """Each task on its worker, started together once all are built; ``during(pids)``
        runs meanwhile and returns the workers it killed. The others' outcomes."""
        for index, task in tasks.items():
            self.tasks[index].put(task)
        pids: dict[int, int] = {}
        while len(pids) < len(tasks):
            index, _, pid = self.replies.get(timeout=180)
            pids[index] = pid
        for index in tasks:
            self.tasks[index].put("go")
        self.dead |= during(pids) if during is not None else set()
        outcomes: dict[int, Any] = {}
        while not set(tasks) - self.dead <= set(outcomes):
            index, _, outcome = self.replies.get(timeout=180)
            outcomes[index] = outcome
        return {i: o for i, o in outcomes.items() if i not in self.dead}

    def kill(self, index: int) -> None:
        """SIGKILL one worker (by its process id, which this pool started)."""
        pid = self.processes[index].pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        for index, queue in enumerate(self.tasks):
            if index not in self.dead:
                queue.put(None)
        for process in self.processes:
            process.join(timeout=30)
