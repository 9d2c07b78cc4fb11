"""Item 5: peak memory of a 5,000-symbol batch versus holding its results alone.

Each side runs in a fresh process (peak RSS only ever grows): one builds the results a batch
returns and holds them, the other runs the batch through the façade over a scripted provider
with info dicts of real size. Both report the peak RSS growth over their own starting point.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .common import Figure

FIELDS = 150  # about as many keys as a real equity's info dict


def _info(symbol: str) -> dict[str, Any]:
    from resilient_provider.testing import make_info

    info = make_info(symbol)
    for index in range(FIELDS - len(info)):
        info[f"field{index:03d}"] = index * 1.5 if index % 2 else f"text {symbol} {index}"
    return info


class _Provider:
    name = "scripted"

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, Any]:
        return {symbol: _info(symbol) for symbol in symbols}

    def close(self) -> None:
        pass


def _rss_now_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 1024


def _child(mode: str, n: int) -> None:
    import pandas  # noqa: F401 - both sides pay the same imports before measuring

    from resilient_provider import DataSource, FetchResult, ResilientProvider, Settings
    from resilient_provider.result import Attempt

    symbols = [f"M{i:05d}" for i in range(n)]
    start_kb = _rss_now_kb()
    if mode == "results":
        held = {s: FetchResult(symbol=s, source=DataSource.PRIMARY, data=_info(s),
                               provider="scripted", fetched_at=0.0, age_s=0.0, latency_ms=1.0,
                               attempts=(Attempt("scripted", "success", "served"),))
                for s in symbols}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(providers=[], cache={"backend": "disk", "path": tmp},
                                stats={"path": f"{tmp}/stats.sqlite3"},
                                provider_defaults={"rate_limit_per_s": 0})
            with ResilientProvider([_Provider()], settings=settings) as provider:
                held = provider.batch_fetch(symbols, progress=False)
    assert len(held) == n
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"grown_kb": peak_kb - start_kb}))


def _measure(mode: str, n: int) -> int:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_memory", mode, str(n)],
                         check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    grown_kb: int = json.loads(out.strip().splitlines()[-1])["grown_kb"]
    return grown_kb


def run(n: int) -> Figure:
    results_kb = min(_measure("results", n) for _ in range(2))
    batch_kb = min(_measure("batch", n) for _ in range(2))
    ratio = batch_kb / results_kb
    return Figure(f"peak memory, batch of {n} vs its results alone",
                  f"{batch_kb / 1024:.1f} MiB", f"{results_kb / 1024:.1f} MiB", ratio, "<= 1.2",
                  ratio <= 1.2, f"peak RSS growth; info dicts of {FIELDS} fields; best of 2 "
                  "fresh processes each")


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
