"""Mixed single and batch fetches from several threads through one façade, for the concurrency
test; run in the test's own process and as child processes sharing its cache and stats store.

``python -m tests.reliability.concurrency_worker CACHE_DIR STATS_PATH DURATION_S THREADS SEED``
prints one JSON line: the run id, the symbol requests made, the provider look-ups made, and
every problem seen (an error answer, an exception, data that is not the true data, a cache row
the façade found unreadable).
"""

from __future__ import annotations

import json
import logging
import random
import sys
import threading
import time
from typing import Any

from resilient_provider import ResilientProvider, Settings
from resilient_provider.result import DataSource
from resilient_provider.testing import ScriptedProvider

from .chaos_providers import ChaosProvider, good_info

UNIVERSE = [f"C{i:03d}" for i in range(300)]
#: The primary's faults: everything but hangs (those cost real seconds in every thread).
KINDS = {"raise_unavailable": 3, "raise_foreign": 2, "rate_limited": 2, "truncated_json": 2,
         "per_symbol": 8}


def is_true_data(symbol: str, data: dict[str, Any] | None) -> bool:
    """Whether ``data`` carries the true answer for ``symbol`` (tags aside)."""
    good = good_info(symbol)
    return isinstance(data, dict) and all(data.get(k) == v for k, v in good.items())


class UnreadableRows(logging.Handler):
    """Counts the cache's 'unreadable, deleted' warnings and cache failures."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "unreadable" in message or "cache read failed" in message \
                or "cache write failed" in message:
            self.seen.append(message[:300])


def settings_for(cache_dir: str, stats_path: str) -> Settings:
    return Settings(
        providers=[], deadline_s=10,
        provider_defaults={"timeout_s": 2, "rate_limit_per_s": 0,
                           "retry": {"max_attempts": 2, "base_delay_s": 0.01, "jitter": 0,
                                     "max_delay_s": 0.02},
                           "breaker": {"failure_threshold": 20, "window_s": 1,
                                       "reset_timeout_s": 0.2}},
        cache={"backend": "disk", "path": cache_dir, "fresh_for": 1, "max_stale_age": 3600,
               "read_through": True},
        stats={"path": stats_path, "flush_interval_s": 0.5},
        upstreams={"yahoo": {"enabled": False}},
    )


def run(cache_dir: str, stats_path: str, duration_s: float, threads: int,
        seed: int) -> dict[str, Any]:
    """Fetch from ``threads`` threads for ``duration_s``; the figures and problems seen."""
    watcher = UnreadableRows()
    logging.getLogger("resilient_provider").addHandler(watcher)
    primary = ChaosProvider("primary", 0.3, seed=seed, kinds=KINDS)
    secondary = ScriptedProvider("secondary")
    facade = ResilientProvider([primary, secondary],
                               settings=settings_for(cache_dir, stats_path))
    lock = threading.Lock()
    figures: dict[str, Any] = {"requests": 0, "problems": []}
    stop_at = time.monotonic() + duration_s

    def work(index: int) -> None:
        rng = random.Random(f"{seed}:{index}")
        while time.monotonic() < stop_at:
            batch = rng.random() < 0.3
            symbols = rng.sample(UNIVERSE, rng.randint(2, 30)) if batch \
                else [rng.choice(UNIVERSE)]
            problems = []
            try:
                results = (dict(facade.batch_fetch(symbols, progress=False)) if batch
                           else {symbols[0]: facade.fetch(symbols[0])})
            except Exception as exc:  # noqa: BLE001 - what escapes is what we count
                results = {}
                problems.append(f"{type(exc).__name__}: {exc}"[:300])
            for symbol in symbols:
                result = results.get(symbol)
                if result is None or result.source is DataSource.ERROR:
                    problems.append(f"{symbol}: {result!r}"[:300])
                elif not is_true_data(symbol, result.data):
                    problems.append(f"{symbol}: not the true data: {result.data!r}"[:300])
            with lock:
                figures["requests"] += len(symbols)
                figures["problems"].extend(problems)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    figures["run_id"] = facade.run_id
    figures["stats_total"] = facade.get_reliability_stats()["total_requests"]
    facade.close()
    primary.close()
    figures["lookups"] = {"primary": primary.lookups,
                          "secondary": sum(len(c) for c in secondary.calls)}
    figures["problems"].extend(watcher.seen)
    logging.getLogger("resilient_provider").removeHandler(watcher)
    return figures


def main() -> None:
    cache_dir, stats_path = sys.argv[1], sys.argv[2]
    duration_s, threads, seed = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    print(json.dumps(run(cache_dir, stats_path, duration_s, threads, seed)), flush=True)


if __name__ == "__main__":
    main()
