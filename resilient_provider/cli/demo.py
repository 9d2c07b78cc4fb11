"""``demo``: an offline walk through every step of the cascade, as a table or JSON.

yfinance and yahooquery run unmodified against loopback fake Yahoo servers (one per library, so
each can fail on its own) through the default diskcache backend in a temporary directory. A
scripted outage makes every source show up: primary, fallback, cache_fresh, cache_stale, error,
and primary again once the outage ends. Time jumps come from a fake clock, so retries and
"three days later" take no real time; the whole demo runs in a few seconds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import format_duration
from ..result import FetchResult
from .common import EXIT_OK

if TYPE_CHECKING:
    from ..stats import ReliabilityReport
    from ..testing import FakeClock, FakeYahooServer

PORTFOLIO = ("AAPL", "MSFT", "^GSPC")


def register(commands: Any) -> None:
    """Add the ``demo`` sub-command."""
    demo = commands.add_parser(
        "demo", help="walk through a scripted outage offline and show every data source",
        description="Runs the real yfinance and yahooquery adapters against fake Yahoo servers "
                    "on 127.0.0.1, with a fake clock, through a scripted outage: both sources "
                    "up, the primary down, Yahoo throttling the IP (HTTP 429), three days later, "
                    "an uncached symbol.")
    demo.add_argument("--json", action="store_true", help="print JSON instead of a table")
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """``resilient-provider demo``."""
    rows, report = walk_through()
    if args.json:
        print(json.dumps({"answers": [{"phase": r.phase, **r.result.to_tagged_dict()}
                                      for r in rows], "stats": report.to_dict()},
                         indent=2, default=str))
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
    sources = report.sources
    for key in ("total_requests", "primary_success_rate", "fallback_usage_rate",
                "fresh_cache_usage_rate", "stale_cache_usage_rate", "error_rate",
                "uptime_estimate"):
        suffix = "" if key == "total_requests" else " %"
        print(f"  {key:<24} {getattr(sources, key)}{suffix}")
    for name, view in report.providers.items():
        breaker = view.breaker
        print(f"  {name}: calls {view.calls}, successes {view.successes}, "
              f"failures {dict(view.failures)}, retries {view.retries}, "
              f"breaker {breaker.state if breaker else None} "
              f"(trips {breaker.trips if breaker else 0})")
    return EXIT_OK


# --- the walk-through ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRow:
    """One answer of the demo, with the phase of the outage it was asked in."""

    phase: str
    result: FetchResult


def walk_through(*, seed: int = 7) -> tuple[list[DemoRow], ReliabilityReport]:
    """Run the scripted outage; return every answer and the final reliability statistics."""
    # Imported here, not at the top: the adapters pull in yfinance and yahooquery, and every
    # command's `--help` imports this module.
    from ..cache import DiskCache
    from ..config import Settings
    from ..facade import ResilientProvider
    from ..providers.yahooquery import YahooQueryProvider
    from ..providers.yfinance import YFinanceProvider
    from ..testing import FakeClock, FakeYahooServer

    clock = FakeClock()
    rows: list[DemoRow] = []
    with (FakeYahooServer(seed=seed) as yahoo_for_yf, FakeYahooServer(seed=seed) as yahoo_for_yq,
          tempfile.TemporaryDirectory(prefix="rp-demo-") as cache_dir):
        settings = Settings(
            providers=[], deadline_s=20,
            provider_defaults={"timeout_s": 2, "retry": {"max_attempts": 2, "jitter": 0},
                               "breaker": {"failure_threshold": 3, "reset_timeout_s": "5m"}},
            # The demo's scripted runs stay out of the user's statistics.
            stats={"path": f"{cache_dir}/stats.sqlite3"},
        )
        primary = YFinanceProvider(base_url=yahoo_for_yf.base_url, timeout_s=2)
        secondary = YahooQueryProvider(base_url=yahoo_for_yq.base_url, timeout_s=2)
        cache = DiskCache(cache_dir)
        try:
            with ResilientProvider([primary, secondary], cache=cache, settings=settings,
                                   clock=clock) as provider:
                for phase, action, symbols in _phases(yahoo_for_yf, yahoo_for_yq, clock):
                    action()
                    rows.extend(DemoRow(phase, provider.fetch(s)) for s in symbols)
                report = provider.reliability_report()
        finally:
            for part in (primary, secondary, cache):
                part.close()
    return rows, report


def _phases(
    yahoo_for_yf: FakeYahooServer, yahoo_for_yq: FakeYahooServer, clock: FakeClock
) -> Iterator[tuple[str, Callable[[], None], tuple[str, ...]]]:
    from ..providers.yahoo_http import DATA_ROUTES
    from ..testing import Fault

    def primary_down() -> None:
        yahoo_for_yf.inject(Fault.server_error(503), route=DATA_ROUTES)

    def ip_throttled() -> None:
        # Yahoo's limit is per client IP: both libraries draw 429s, and the shared budget of
        # the "yahoo" upstream cools down instead of falling over to a host that refuses.
        for yahoo in (yahoo_for_yf, yahoo_for_yq):
            yahoo.inject(Fault.rate_limited(retry_after_s=3600), route=DATA_ROUTES)

    def outage_over() -> None:
        yahoo_for_yf.clear_faults()
        yahoo_for_yq.clear_faults()
        clock.advance(2 * 3600)  # past the Retry-After and the primary's breaker

    yield "1 both sources up", lambda: None, PORTFOLIO
    yield "2 yfinance down (HTTP 503)", primary_down, PORTFOLIO
    yield "3 Yahoo throttles this IP", ip_throttled, PORTFOLIO
    yield "4 three days later", lambda: clock.advance(3 * 86400), PORTFOLIO
    yield "5 a symbol never cached", lambda: None, ("NVDA",)
    yield "6 outage over", outage_over, PORTFOLIO[:1]
