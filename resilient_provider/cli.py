"""The ``resilient-provider`` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .strategy.cascade import format_duration

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resilient-provider",
        description="Market data for tickers through a cascading fallback "
                    "(primary → secondary → fresh cache → stale cache → tagged error).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log to stderr: -v warnings (retries, breakers), -vv everything")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="walk through a scripted outage offline and show every data source",
        description="Runs the cascade over scripted providers and a fake clock: both sources "
                    "up, primary rate-limited, both down, three days later, an uncached symbol.")
    demo.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _cmd_demo(as_json: bool) -> int:
    from .demo import run_demo  # imported here so `--help` stays fast

    rows, stats = run_demo()
    if as_json:
        print(json.dumps({"answers": [{"phase": r.phase, **r.result.to_tagged_dict()}
                                      for r in rows], "stats": stats}, indent=2, default=str))
        return EXIT_OK
    header = f"{'phase':<26} {'symbol':<7} {'price':>9} {'source':<12} {'provider':<15} " \
             f"{'stale':<5} {'age':>9}  error"
    print(header)
    print("-" * len(header))
    for row in rows:
        r = row.result
        price = f"{r.data['regularMarketPrice']:.2f}" if r.data else "-"
        age = format_duration(r.age_s) if r.age_s is not None else "-"
        error = r.error.message if r.error else ""
        print(f"{row.phase:<26} {r.symbol:<7} {price:>9} {r.source.value:<12} "
              f"{r.provider or '-':<15} {'yes' if r.is_stale else 'no':<5} {age:>9}  {error}")
    print()
    print("reliability statistics:")
    for key in ("total_requests", "primary_success_rate", "fallback_usage_rate",
                "fresh_cache_usage_rate", "stale_cache_usage_rate", "error_rate",
                "uptime_estimate"):
        suffix = "" if key == "total_requests" else " %"
        print(f"  {key:<24} {stats[key]}{suffix}")
    providers = stats["providers"]
    assert isinstance(providers, dict)
    for name, view in providers.items():
        print(f"  {name}: calls {view['calls']}, successes {view['successes']}, "
              f"failures {view['failures']}, retries {view['retries']}, "
              f"breaker {view['breaker']['state']} (trips {view['breaker']['trips']})")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.ERROR, 1: logging.WARNING}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")
    if args.command == "demo":
        return _cmd_demo(args.json)
    parser.print_help(sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
