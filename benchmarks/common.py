"""What every benchmark shares: a façade over fake Yahoos, timing, and the figures table."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yfinance.data import SingletonMeta, YfData

from resilient_provider import ResilientProvider, Settings


@dataclass(frozen=True)
class Figure:
    """One benchmark's result: what was measured against what, and the target ratio."""

    name: str
    ours: str
    baseline: str
    ratio: float
    target: str
    met: bool | None  # None: a reference figure with no target
    note: str = ""


def fresh_raw_yfinance() -> None:
    """Make the next ``yf.Ticker`` start from a new ``YfData``, as in a fresh process.

    yfinance keeps one process-wide ``YfData`` (session, cookie, crumb, cookie strategy). A
    run after another meets a new fake Yahoo with the old crumb, gets a 401 and switches
    yfinance to its "csrf" strategy, which then skips the cookie request the "basic" strategy
    makes before each data request against a fake Yahoo (on 127.0.0.1 the cookie cannot be
    saved under a yahoo.com domain). Our adapter always starts fresh, in "basic"; without this
    the raw side would make half the requests ours does, in every run but the first.
    """
    SingletonMeta._instances.pop(YfData, None)


def timed(fn: Callable[[], Any]) -> float:
    """Seconds ``fn()`` took, by the monotonic performance counter."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def settings(cache_dir: Path, *, primary_url: str | None, secondary_url: str | None = None,
             workers: int = 4, **overrides: Any) -> Settings:
    """Benchmark settings: real adapters at the given fake Yahoos, a diskcache in ``cache_dir``.

    No client-side rate limit or upstream budget (pacing would measure the limit, not our
    overhead) unless ``overrides`` sets them.
    """
    providers = []
    if primary_url is not None:
        providers.append({"name": "yfinance",
                          "options": {"base_url": primary_url, "max_workers": workers}})
    if secondary_url is not None:
        providers.append({"name": "yahooquery",
                          "options": {"base_url": secondary_url, "max_workers": workers,
                                      "chunk_size": 5}})
    base: dict[str, Any] = {
        "providers": providers,
        "cache": {"backend": "disk", "path": str(cache_dir)},
        "provider_defaults": {"rate_limit_per_s": 0},
        # No upstream budget either, for the same reason; bench_throttle measures it.
        "upstreams": {"yahoo": {"enabled": False}},
        # Statistics are kept as by default, but in the run's own directory.
        "stats": {"path": str(cache_dir / "stats.sqlite3")},
    }
    base.update(overrides)
    return Settings(**base)


@contextmanager
def facade(cache_dir: Path, **kwargs: Any) -> Iterator[ResilientProvider]:
    """A façade built from :func:`settings`, closed afterwards."""
    with ResilientProvider(settings=settings(cache_dir, **kwargs)) as provider:
        yield provider


def print_figures(figures: list[Figure], header: str) -> None:
    """The figures as one aligned table."""
    print()
    print(header)
    rows = [("benchmark", "ours", "baseline", "ratio", "target", "")]
    rows += [(f.name, f.ours, f.baseline, f"{f.ratio:.3f}", f.target,
              "" if f.met is None else "met" if f.met else "MISSED") for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    notes = [f for f in figures if f.note]
    if notes:
        print()
        for f in notes:
            print(f"- {f.name}: {f.note}")
