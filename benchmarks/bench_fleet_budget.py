"""Issue 16, acceptance 3 and 4: eight worker processes share one upstream budget through Redis.

Each worker is its own process (spawned: nothing inherited) with its own
:class:`~resilient_provider.shared.budget.SharedUpstreamBudget` and two threads sending as fast
as the budget lets them, on a private redis-server this script starts (a unix socket in a
temporary directory; never the shared 6379). The upstream is simulated: what reaches it is
when each ``admit()`` returned (a 5 ms answer follows, then ``settle``), by the real clock of
this one machine, which every process reads alike; half the processes' *budget* clocks are
shifted by 2 s, which must change nothing, since the fleet decides on Redis's clock.

* acceptance 3: 8 processes x 10 s against a budget of 5 requests/s: at most 1.1 x the budget
  in total and in any second (any 1 s interval, sliding; the fixed seconds from the first
  request, as the fake Yahoo counts them, are in the note), with the clocks aligned and with
  half of them shifted;
* acceptance 4: 3 s in, worker 0 gets a 429 with Retry-After 2 s: no request from any worker
  for those 2 s (counted from when that worker settled the 429: a request admitted before is
  one already in flight when the 429 came).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import Figure
from .redis_server import missing, private_redis

WORKERS = 8
THREADS = 2
BUDGET_PER_S = 5.0
RUN_S = 10.0
LATENCY_S = 0.005
SHIFT_S = 2.0
REFUSE_AT_S = 3.0
RETRY_AFTER_S = 2.0


def _worker(index: int, url: str, prefix: str, shift_s: float, refuse: bool, out: str,
            start: Any) -> None:
    """One worker process: two threads admitting requests for RUN_S; writes its send times
    (and, for the refusing worker, when it settled its 429) to ``out`` as JSON."""
    from resilient_provider.config import SharedSettings, UpstreamSettings
    from resilient_provider.errors import ThrottledError, UpstreamCoolingError
    from resilient_provider.providers.gate import REQUEST_DEADLINE
    from resilient_provider.shared.budget import SharedUpstreamBudget
    from resilient_provider.shared.link import RedisLink
    from resilient_provider.strategy.timeouts import Deadline

    def clock() -> float:
        return time.time() + shift_s

    link = RedisLink(SharedSettings.model_validate(
        {"enabled": True, "redis_url": url, "key_prefix": prefix}))
    budget = SharedUpstreamBudget(
        "yahoo", UpstreamSettings(initial_rate_per_s=BUDGET_PER_S, max_rate_per_s=BUDGET_PER_S),
        link, clock=clock, sleep=time.sleep)
    sends: list[float] = []
    refused: list[float] = []
    lock = threading.Lock()
    start.wait()
    began = time.time()
    end = began + RUN_S

    def send_until_the_end() -> None:
        while (left := end - time.time()) > 0:
            token = REQUEST_DEADLINE.set(Deadline(left, clock))
            try:
                ticket = budget.admit("yfinance", "quoteSummary")
            except (ThrottledError, UpstreamCoolingError):
                return  # the next slot would come after the end of the run
            finally:
                REQUEST_DEADLINE.reset(token)
            at = time.time()
            time.sleep(LATENCY_S)  # the upstream answering
            with lock:
                sends.append(at)
                refusing = refuse and not refused and at - began >= REFUSE_AT_S
                if refusing:
                    refused.append(time.time())
            if refusing:
                budget.settle(ticket, status=429, retry_after_s=RETRY_AFTER_S)
                refused.append(time.time())
            else:
                budget.settle(ticket, status=200)

    threads = [threading.Thread(target=send_until_the_end) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    link.close()
    Path(out).write_text(json.dumps({"index": index, "sends": sends, "refused": refused}))


@dataclass(frozen=True)
class _Run:
    sends: list[float]  # every worker's, in order
    per_worker: list[int]
    refused: list[float]  # [settle started, settle returned] of the 429, or []


def _fleet(directory: Path, url: str, *, run: str, shifted: bool, refuse: bool) -> _Run:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS + 1)
    outs = [directory / f"{run}-{i}.json" for i in range(WORKERS)]
    processes = [context.Process(target=_worker, args=(
        i, url, f"bench{os.getpid()}{run}", SHIFT_S if shifted and i % 2 else 0.0,
        refuse and i == 0, str(outs[i]), start)) for i in range(WORKERS)]
    for process in processes:
        process.start()
    start.wait(timeout=120)
    for process in processes:
        process.join(timeout=RUN_S + 60)
    results = [json.loads(out.read_text()) for out in outs]
    return _Run(sorted(t for r in results for t in r["sends"]),
                [len(r["sends"]) for r in results],
                next((r["refused"] for r in results if r["refused"]), []))


def _most_in_a_second(sends: list[float]) -> tuple[int, int]:
    """(most requests in any 1 s interval, most in one of the fixed seconds from the first)."""
    sliding, first = 0, 0
    for last, at in enumerate(sends):
        while sends[first] <= at - 1.0:
            first += 1
        sliding = max(sliding, last - first + 1)
    fixed: dict[int, int] = {}
    for at in sends:
        second = int(at - sends[0])
        fixed[second] = fixed.get(second, 0) + 1
    return sliding, max(fixed.values(), default=0)


def _budget_figures(result: _Run, label: str) -> list[Figure]:
    allowed = BUDGET_PER_S * RUN_S
    total = len(result.sends)
    sliding, fixed = _most_in_a_second(result.sends)
    name = f"{WORKERS} processes x {RUN_S:g} s at a budget of {BUDGET_PER_S:g} req/s, {label}"
    return [
        Figure(f"{name}: total", f"{total} requests", f"{allowed:g} (budget x {RUN_S:g} s)",
               total / allowed, "<= 1.1", total <= 1.1 * allowed,
               f"per worker {result.per_worker}"),
        Figure(f"{name}: most in any second", f"{sliding} requests",
               f"{BUDGET_PER_S:g} (budget)", sliding / BUDGET_PER_S, "<= 1.1",
               sliding <= 1.1 * BUDGET_PER_S,
               f"most in one of the fixed seconds from the first request: {fixed}"),
    ]


def _cooling_figure(result: _Run) -> Figure:
    name = (f"a 429 with Retry-After {RETRY_AFTER_S:g} s to one of {WORKERS} workers: "
            "first request after it")
    if len(result.refused) != 2:
        return Figure(name, "no 429 sent", "-", 0.0, ">= 1.0", False)
    seen, settled = result.refused
    during = [t for t in result.sends if settled < t < seen + RETRY_AFTER_S]
    in_flight = [t for t in result.sends if seen - LATENCY_S <= t <= settled]
    after = next((t - seen for t in result.sends if t > settled), float("inf"))
    return Figure(name, f"{after:.3f} s later", f"{RETRY_AFTER_S:g} s (Retry-After)",
                  after / RETRY_AFTER_S, ">= 1.0, none within", not during and
                  after >= RETRY_AFTER_S,
                  f"{len(during)} requests sent within the {RETRY_AFTER_S:g} s, "
                  f"{len(in_flight)} already in flight when the 429 came; clocks of half the "
                  f"workers shifted by {SHIFT_S:g} s")


def run() -> list[Figure]:
    """Acceptance 3 (aligned and shifted clocks) and 4 (a 429 with Retry-After 2 s)."""
    if (why := missing()) is not None:
        return [Figure("fleet budget", "not run", "-", 0.0, "needs redis-server and redis",
                       False, why)]
    with tempfile.TemporaryDirectory() as tmp, \
            private_redis(Path(tmp) / "redis", tcp=False) as server:
        directory, url = Path(tmp), server.unix_url
        figures = _budget_figures(
            _fleet(directory, url, run="a", shifted=False, refuse=False), "clocks aligned")
        figures += _budget_figures(
            _fleet(directory, url, run="s", shifted=True, refuse=False),
            f"half the clocks shifted {SHIFT_S:g} s")
        figures.append(_cooling_figure(
            _fleet(directory, url, run="r", shifted=True, refuse=True)))
    return figures


if __name__ == "__main__":
    from .common import print_figures

    print_figures(run(), "fleet budget (issue 16, acceptance 3 and 4)")
