"""Fake Yahoo servers in their own processes, so serving does not compete for our GIL.

``python -m benchmarks.servers --latency 0.05 [--rate-limited 0.3]`` prints the base URL on its
first line and serves until its standard input closes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

DATA_ROUTES = ("quoteSummary", "quote")

#: A base URL where nothing listens: requests are refused at once ("hard down").
REFUSED_URL = "http://127.0.0.1:9"


@contextmanager
def fake_yahoo(*, latency_s: float = 0.0, rate_limited: float = 0.0,
               seed: int = 0) -> Iterator[str]:
    """A fake Yahoo in a child process; yields its base URL."""
    command = [sys.executable, "-m", "benchmarks.servers", "--latency", str(latency_s),
               "--rate-limited", str(rate_limited), "--seed", str(seed)]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"fake Yahoo did not start: {line!r}")
        yield line
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


class ThrottlingYahoo:
    """A fake Yahoo in a child process that limits its one client (us) as Yahoo limits an IP;
    :attr:`summary` is what it logged, read when the block ends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.summary: dict[str, Any] = {}


@contextmanager
def throttling_yahoo(*, limit_per_s: float, latency_s: float = 0.0, seed: int = 0,
                     block_library: str | None = None,
                     storm: tuple[float, float] | None = None) -> Iterator[ThrottlingYahoo]:
    """A fake Yahoo allowing ``limit_per_s`` requests per second (sliding 1 s window; 0: no
    limit), with a penalty box (10 429s within 10 s: 60 s of 429s), no Retry-After, as Yahoo
    answers; ``block_library`` answers that library 429 and the other not; ``storm`` (start,
    length in seconds after it starts) answers every limited request 429 for that long."""
    command = [sys.executable, "-m", "benchmarks.servers", "--latency", str(latency_s),
               "--seed", str(seed), "--limit", str(limit_per_s), "--summary"]
    if block_library:
        command += ["--block-library", block_library]
    if storm:
        command += ["--storm", f"{storm[0]},{storm[1]}"]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    line = child.stdout.readline().strip()
    if not line.startswith("http://"):
        raise RuntimeError(f"fake Yahoo did not start: {line!r}")
    handle = ThrottlingYahoo(line)
    try:
        yield handle
    finally:
        child.stdin.close()
        handle.summary = json.loads(child.stdout.readline() or "{}")
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _summary(server: Any) -> dict[str, Any]:
    from resilient_provider.testing.fake_yahoo import THROTTLED_ROUTES

    records = server.requests
    refused = [r.at_s for r in records if r.status == 429]
    # The routes Yahoo's per-client limit covers (the cookie page is not limited: against the
    # fake, yfinance fetches its cookie before every request, which real Yahoo does not need).
    windows = [sum(counts) for counts in zip(
        *(server.count_per_window(1.0, route=route) for route in THROTTLED_ROUTES),
        strict=True)]
    return {
        "requests": len(records),
        "rate_limited": sum(1 for r in records if r.status == 429),
        "penalty_box": sum(1 for r in records if r.reason == "penalty_box"),
        "max_per_second": max(windows, default=0),
        "by_route": {route: sum(1 for r in records if r.route == route)
                     for route in sorted({r.route for r in records})},
        "by_library": {str(lib): sum(1 for r in records if r.library == lib)
                       for lib in sorted({str(r.library) for r in records})},
        # Requests arriving while the shortest cool-down (1 s) after a 429 runs; the first
        # 50 ms are left out: requests already in flight when the 429 was answered.
        "during_cooldown": sum(1 for r in records if r.route in THROTTLED_ROUTES and any(
            t + 0.05 < r.at_s < t + 0.95 for t in refused)),
        "storm_429": sum(1 for r in records if r.fault == "rate_limited"),
    }


def _storm(server: Any, length_s: float) -> None:
    from resilient_provider.testing import Fault
    from resilient_provider.testing.fake_yahoo import THROTTLED_ROUTES

    server.inject(Fault.rate_limited(), route=THROTTLED_ROUTES)
    time.sleep(length_s)
    server.clear_faults()


def main() -> None:
    from resilient_provider.testing import FakeYahooServer, Fault
    from resilient_provider.testing.fake_yahoo import PenaltyBox, SlidingWindow

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate-limited", type=float, default=0.0,
                        help="share of data requests answered HTTP 429")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=0.0,
                        help="requests per second the one client may send (0: no limit)")
    parser.add_argument("--block-library", choices=("yfinance", "yahooquery"))
    parser.add_argument("--storm", help="START,SECONDS: every limited request answered 429 "
                        "from START seconds after the server starts, for SECONDS")
    parser.add_argument("--summary", action="store_true",
                        help="print what was logged, as JSON, when standard input closes")
    args = parser.parse_args()
    with FakeYahooServer(seed=args.seed, latency_s=args.latency) as server:
        if args.rate_limited:
            server.inject(Fault.rate_limited(), route=DATA_ROUTES,
                          probability=args.rate_limited)
        if args.limit:
            server.throttle(SlidingWindow(max(1, round(args.limit)), window_s=1.0)
                            if args.limit >= 1 else SlidingWindow(1, window_s=1 / args.limit),
                            penalty=PenaltyBox(strikes=10, within_s=10, ban_s=60))
        if args.block_library:
            server.block_library(args.block_library)
        if args.storm:
            start_s, length_s = (float(part) for part in args.storm.split(","))
            storm = threading.Timer(start_s, _storm, (server, length_s))
            storm.daemon = True
            storm.start()
        print(server.base_url, flush=True)
        sys.stdin.read()
        if args.summary:
            print(json.dumps(_summary(server)), flush=True)


if __name__ == "__main__":
    main()


def _serve_counting(latency_s: float, route: str, conn: Any) -> None:
    """A fake Yahoo: sends its URL, then each symbol's count of ``route`` requests (and
    forgets them) for every "count" received, until "stop"."""
    from resilient_provider.testing import FakeYahooServer

    with FakeYahooServer(latency_s=latency_s) as yahoo:
        conn.send(yahoo.base_url)
        while conn.recv() != "stop":
            records = yahoo.requests
            yahoo.reset_log()  # nothing is in flight between two runs
            conn.send(dict(Counter(s for r in records if r.route == route for s in r.symbols)))


@contextmanager
def counting_yahoo(*, latency_s: float = 0.03, route: str = "quoteSummary",
                   ) -> Iterator[tuple[str, Callable[[], Counter[str]]]]:
    """A fake Yahoo in a spawned process that counts each symbol's ``route`` requests
    server-side; yields its URL and a function taking (and forgetting) those counts."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve_counting, args=(latency_s, route, theirs),
                              daemon=True)
    process.start()

    def counts() -> Counter[str]:
        ours.send("count")
        return Counter(ours.recv())

    try:
        yield ours.recv(), counts
    finally:
        ours.send("stop")
        process.join(timeout=30)
