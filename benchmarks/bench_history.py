"""Issue 18, acceptance 4: a 500-symbol, 1-year daily history batch at 50 ms per request.

Ours (``batch_get_history`` over both real adapters, a fresh diskcache) and raw yfinance's
``download(threads=True)`` fetch the same symbols from the same kind of fake Yahoo (a spawned
process answering the chart route after 50 ms, counting chart requests per symbol
server-side), side by side in one run: seconds, and chart requests per symbol. A second run of
ours over the same range shows what the cache saves (no request).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yfinance as yf

from resilient_provider.testing import YahooRoutingSession

from .common import Figure, facade, fresh_raw_yfinance, timed
from .servers import counting_yahoo

LATENCY_S = 0.05
CONCURRENCY = 16  # the adapters' max_workers; yfinance's download uses up to 2 x CPUs threads


def _symbols(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(n)]


def _raw_s(url: str, symbols: list[str]) -> tuple[float, int]:
    """Seconds for yfinance's download of ``symbols``, and the symbols it got bars for."""
    fresh_raw_yfinance()
    session = YahooRoutingSession(url, timeout_s=10)
    frames: list[object] = []
    seconds = timed(lambda: frames.append(yf.download(
        symbols, period="1y", interval="1d", threads=True, session=session, progress=False,
        auto_adjust=False, actions=True)))
    frame = frames[0]
    got = 0 if frame is None else int(frame["Close"].notna().any().sum())  # type: ignore[index]
    return seconds, got


def run(n: int = 500) -> list[Figure]:
    with counting_yahoo(latency_s=LATENCY_S, route="chart") as (url, counts):
        raw_s, raw_got = _raw_s(url, _symbols("RW", n))
        raw_requests = sum(counts().values())
        symbols = _symbols("HS", n)
        with tempfile.TemporaryDirectory() as tmp, facade(
                Path(tmp), primary_url=url, secondary_url=url, workers=CONCURRENCY) as provider:
            results: dict[str, object] = {}
            ours_s = timed(lambda: results.update(provider.batch_get_history(
                symbols, period="1y", as_frame=False)))
            ours_requests = sum(counts().values())
            again_s = timed(lambda: provider.batch_get_history(symbols, period="1y",
                                                               as_frame=False))
            again_requests = sum(counts().values())
    served = sum(1 for r in results.values() if getattr(r, "success", False))
    per_symbol = ours_requests / n
    return [
        Figure(f"history batch {n} x 1y daily at {LATENCY_S * 1000:.0f} ms: chart requests "
               "per symbol", f"{per_symbol:.3f}", f"{raw_requests / n:.3f} (raw download)",
               per_symbol / 1.1, "<= 1.1", per_symbol <= 1.1 and served == n,
               f"{ours_requests} chart requests server-side, {served}/{n} served; raw "
               f"download: {raw_requests} for {raw_got} symbols with bars"),
        Figure(f"history batch {n} x 1y daily at {LATENCY_S * 1000:.0f} ms vs raw yfinance "
               "download(threads=True)", f"{ours_s:.2f} s", f"{raw_s:.2f} s", ours_s / raw_s,
               "<= 1.5", ours_s / raw_s <= 1.5,
               f"ours: {CONCURRENCY} concurrent per adapter, a fresh diskcache; raw: "
               "download(period='1y', threads=True, actions=True, auto_adjust=False)"),
        Figure(f"history batch {n} x 1y daily again (cached range)", f"{again_s:.2f} s",
               f"{ours_s:.2f} s (first run)", again_s / ours_s, "no request",
               again_requests == 0, f"{again_requests} chart requests"),
    ]


if __name__ == "__main__":
    from .common import print_figures

    print_figures(run(), "price history (issue 18, acceptance 4)")
