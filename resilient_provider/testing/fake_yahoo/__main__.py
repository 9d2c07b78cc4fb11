"""Run a fake Yahoo from the command line: ``python -m resilient_provider.testing.fake_yahoo``.

Prints its base URL on the first line of standard output, then serves until Ctrl-C (or
SIGTERM) and exits 0. Point the adapters at the URL with their ``base_url`` option.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import time
from collections.abc import Sequence

from ...config.types import parse_duration
from ...errors import ConfigError
from .server import FakeYahooServer
from .throttle import SlidingWindow

_LIMIT = re.compile(r"^\s*(?P<requests>\d+)\s*/\s*(?P<period>\S+)\s*$")
_EPILOG = """\
examples:
  python -m resilient_provider.testing.fake_yahoo --port 8765
  python -m resilient_provider.testing.fake_yahoo --port 8765 --latency 50ms --limit 5/s

then send the adapters there, e.g. in config.yaml:
  providers:
    - {name: yfinance, options: {base_url: "http://127.0.0.1:8765"}}
    - {name: yahooquery, options: {base_url: "http://127.0.0.1:8765"}}
"""


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ConfigError:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 50ms, 0.05 or 2s, got {text!r}") from None
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return seconds


def _limit(text: str) -> SlidingWindow:
    """``N/PERIOD`` (``5/s``, ``100/1m``, ``10/2.5s``): at most N requests in any PERIOD."""
    match = _LIMIT.match(text)
    problem = f"expected REQUESTS/PERIOD such as 5/s or 100/1m, got {text!r}"
    if match is None:
        raise argparse.ArgumentTypeError(problem)
    period = match["period"]
    try:  # "5/s": a bare unit means one of it
        window_s = parse_duration(f"1{period}" if period.isalpha() else period)
        return SlidingWindow(int(match["requests"]), window_s)
    except (ConfigError, ValueError):
        raise argparse.ArgumentTypeError(problem) from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in 0..65535, got {text!r}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, validated (bad values exit 2 with argparse's message)."""
    parser = argparse.ArgumentParser(
        prog="python -m resilient_provider.testing.fake_yahoo",
        description="A fake Yahoo Finance on 127.0.0.1 for the real yfinance and yahooquery: "
                    "quoteSummary, v7 quote, timeseries and the cookie/crumb handshake, with "
                    "deterministic bodies for any symbol. Prints its base URL, serves until "
                    "Ctrl-C.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=_port, default=0,
                        help="port to listen on (default 0: a free port)")
    parser.add_argument("--latency", type=_duration, default=0.0, metavar="DURATION",
                        help="delay before every data answer, e.g. 50ms (default 0)")
    parser.add_argument("--limit", type=_limit, metavar="REQUESTS/PERIOD",
                        help="throttle like Yahoo: at most this many crumb and data requests "
                             "in any period (a sliding window, e.g. 5/s), the rest get HTTP 429 "
                             "'Too Many Requests' (default: no limit)")
    parser.add_argument("--max-in-flight", type=_count, metavar="N",
                        help="also answer 429 while N requests are being answered (Yahoo "
                             "draws 429s beyond ~6)")
    parser.add_argument("--retry-after", type=_duration, metavar="DURATION",
                        help="send Retry-After with each 429 (Yahoo sends none; default: none)")
    parser.add_argument("--seed", type=int, default=0,
                        help="decides every generated value and crumb (default 0)")
    args = parser.parse_args(argv)
    if args.retry_after is not None and args.limit is None and args.max_in_flight is None:
        parser.error("--retry-after needs --limit or --max-in-flight (nothing answers 429)")
    return args


def server_from_args(args: argparse.Namespace) -> FakeYahooServer:
    """The (not yet started) server the command line describes."""
    server = FakeYahooServer(seed=args.seed, latency_s=args.latency, port=args.port)
    if args.limit is not None or args.max_in_flight is not None:
        server.throttle(args.limit, max_in_flight=args.max_in_flight,
                        retry_after_s=args.retry_after)
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; 0 on Ctrl-C or SIGTERM, 1 if the port cannot be had."""
    args = parse_args(argv)
    server = server_from_args(args)
    try:
        server.start()
    except OSError as exc:
        print(f"fake Yahoo: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    # The server's own news (a client put in the penalty box) goes to stderr while it runs.
    news = logging.StreamHandler(sys.stderr)
    package_log = logging.getLogger(__package__)
    package_log.addHandler(news)
    package_log.setLevel(logging.INFO)
    # Ctrl-C stops even where SIGINT started out ignored (a background job of a script), and
    # SIGTERM as cleanly (a supervisor's polite stop).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        print(server.base_url, flush=True)
        print("fake Yahoo serving; Ctrl-C stops it", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits for the stop
        server.stop()
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
        package_log.removeHandler(news)
        package_log.setLevel(logging.NOTSET)


if __name__ == "__main__":
    sys.exit(main())
