"""``python -m benchmarks [--quick]``: every benchmark, then one table of figures and ratios."""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from collections.abc import Callable

from . import (
    bench_batch,
    bench_cache,
    bench_fleet,
    bench_fleet_budget,
    bench_fleet_cache,
    bench_fleet_outages,
    bench_history,
    bench_memory,
    bench_overhead,
    bench_throttle,
)
from .common import Figure, print_figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="fewer symbols (and a sampled sequential loop): faster, noisier")
    parser.add_argument("--only", metavar="NAME", action="append",
                        choices=("overhead", "warm cache", "batch", "memory", "throttling",
                                 "fleet", "history"),
                        help="run only this benchmark (repeatable), e.g. --only throttling")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("yfinance").setLevel(logging.CRITICAL)
    quick = args.quick
    figures: list[Figure] = []
    started = time.perf_counter()
    steps: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("overhead", lambda: [bench_overhead.run(40 if quick else 200, latency,
                                                 reference=latency == 0.0)
                              for latency in (0.05, 0.005, 0.0)]),
        ("warm cache", lambda: bench_cache.run(500)),
        ("batch", lambda: bench_batch.run(500, 0.05, 50 if quick else 500)),
        ("memory", lambda: [bench_memory.run(5000)]),
        ("throttling", lambda: bench_throttle.run(100 if quick else 500)),
        # Fleet mode (issue 16): a private redis-server; "not run" rows without one.
        ("fleet", lambda: [*bench_fleet_cache.run(), *bench_fleet_budget.run(),
                           *bench_fleet.run(), *bench_fleet_outages.run()]),
        ("history", lambda: bench_history.run(100 if quick else 500)),
    ]
    for name, step in steps:
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", flush=True)
        figures.extend(step())
    header = (f"resilient-provider benchmarks, {time.strftime('%Y-%m-%d')}, "
              f"{platform.python_implementation()} {platform.python_version()} on "
              f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs "
              f"({time.perf_counter() - started:.0f} s)")
    print_figures(figures, header)


if __name__ == "__main__":
    main()
