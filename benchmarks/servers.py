"""Fake Yahoo servers in their own processes, so serving does not compete for our GIL.

``python -m benchmarks.servers --latency 0.05 [--rate-limited 0.3]`` prints the base URL on its
first line and serves until its standard input closes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

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


def main() -> None:
    from resilient_provider.testing import FakeYahooServer, Fault

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate-limited", type=float, default=0.0,
                        help="share of data requests answered HTTP 429")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with FakeYahooServer(seed=args.seed, latency_s=args.latency) as server:
        if args.rate_limited:
            server.inject(Fault.rate_limited(), route=DATA_ROUTES,
                          probability=args.rate_limited)
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
