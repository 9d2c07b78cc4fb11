"""``demo``: the offline outage walk-through, as a table or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..config import format_duration
from .common import EXIT_OK


def register(commands: Any) -> None:
    """Add the ``demo`` sub-command."""
    demo = commands.add_parser(
        "demo", help="walk through a scripted outage offline and show every data source",
        description="Runs the cascade over scripted providers and a fake clock: both sources "
                    "up, primary rate-limited, both down, three days later, an uncached symbol.")
    demo.add_argument("--json", action="store_true", help="print JSON instead of a table")
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """``resilient-provider demo``."""
    from ..demo import run_demo as walk_through  # imported here so `--help` stays fast

    rows, stats = walk_through()
    if args.json:
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
