"""Items 8 and 9: a 500-symbol batch at 50 ms per request — clean, under 429s, primary down.

Every run gets its own fake Yahoo processes and symbols, and a fresh cache, so no run is
served from what another left behind.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path

import yfinance as yf

from resilient_provider import DataSource, FetchResult
from resilient_provider.strategy.batch import CHUNKS_PER_SLOT
from resilient_provider.testing import YahooRoutingSession

from .common import Figure, facade, fresh_raw_yfinance, timed
from .servers import REFUSED_URL, fake_yahoo

CALLS = 16         # max_concurrent_requests: provider calls in flight
CONCURRENCY = 16   # each adapter's max_workers: its symbols (or chunks) fetched at once
BATCH_SIZE = 10    # symbols per chunk; CHUNKS_PER_SLOT x CALLS chunk threads


def _symbols(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(n)]


def _sequential_raw_s(url: str, symbols: list[str]) -> float:
    fresh_raw_yfinance()
    session = YahooRoutingSession(url, timeout_s=10)
    yf.Ticker("WARM", session=session).info  # noqa: B018 - the crumb, as the façade gets it

    def loop() -> None:
        for symbol in symbols:
            assert yf.Ticker(symbol, session=session).info.get("regularMarketPrice"), symbol

    return timed(loop)


def _batch_s(symbols: list[str], *, primary: str | None, secondary: str | None,
             open_breaker_first: bool = False) -> tuple[float, Counter[DataSource]]:
    with tempfile.TemporaryDirectory() as tmp, facade(
            Path(tmp), primary_url=primary, secondary_url=secondary, workers=CONCURRENCY,
            max_concurrent_requests=CALLS, batch_size=BATCH_SIZE) as provider:
        provider.get_ticker_info("WARM")  # both sides start with a crumb
        if open_breaker_first:
            for index in range(10):
                provider.fetch(f"TRIP{index}")
            state = provider.get_reliability_stats()["providers"]["yfinance"]["breaker"]["state"]
            assert state == "open", state
        results: dict[str, FetchResult] = {}
        seconds = timed(lambda: results.update(provider.batch_fetch(symbols, progress=False)))
    return seconds, Counter(r.source for r in results.values())


def run(n: int, latency_s: float, sequential_n: int) -> list[Figure]:
    figures = []
    with (fake_yahoo(latency_s=latency_s, seed=1) as yf_url,
          fake_yahoo(latency_s=latency_s, seed=1) as yq_url,
          fake_yahoo(latency_s=latency_s, seed=1, rate_limited=0.3) as yf_429_url):
        sequential_s = _sequential_raw_s(yf_url, _symbols("SQ", sequential_n)) * n / sequential_n
        per_symbol_s = sequential_s / n
        clean_s, clean = _batch_s(_symbols("CL", n), primary=yf_url, secondary=yq_url)
        faulty_s, faulty = _batch_s(_symbols("RL", n), primary=yf_429_url, secondary=yq_url)
        down_s, down = _batch_s(_symbols("DN", n), primary=REFUSED_URL, secondary=yq_url,
                                open_breaker_first=True)
        alone_s, alone = _batch_s(_symbols("SO", n), primary=None, secondary=yq_url)

    ideal_s = math.ceil(n / CONCURRENCY) * per_symbol_s
    scaled = "" if sequential_n == n else f", measured on {sequential_n} and scaled to {n}"
    live = (DataSource.PRIMARY, DataSource.FALLBACK)
    completion = sum(faulty[s] for s in live) / n
    figures.append(Figure(
        f"batch {n} at {latency_s * 1000:.0f} ms vs sequential yfinance loop",
        f"{clean_s:.2f} s", f"{sequential_s:.2f} s", sequential_s / clean_s, ">= 10 (speed-up)",
        sequential_s / clean_s >= 10,
        f"speed-up shown as loop/batch; {per_symbol_s * 1000:.0f} ms per symbol in the "
        f"loop{scaled}; all {clean[DataSource.PRIMARY]} from the primary"))
    figures.append(Figure(
        f"batch {n} vs ideal ceil(n/{CONCURRENCY}) x per-symbol time",
        f"{clean_s:.2f} s", f"{ideal_s:.2f} s", clean_s / ideal_s, "<= 1.25",
        clean_s / ideal_s <= 1.25,
        f"concurrency {CONCURRENCY}: the adapter's max_workers; {CALLS} call slots fed by "
        f"{CHUNKS_PER_SLOT * CALLS} chunk threads of {BATCH_SIZE} symbols"))
    figures.append(Figure(
        f"batch {n} with 30% of primary requests 429 vs clean",
        f"{faulty_s:.2f} s", f"{clean_s:.2f} s", faulty_s / clean_s, "<= 1.5, 100% served",
        faulty_s / clean_s <= 1.5 and completion == 1.0,
        f"completion {completion:.0%}: {faulty[DataSource.PRIMARY]} primary, "
        f"{faulty[DataSource.FALLBACK]} fallback, {faulty[DataSource.ERROR]} errors"))
    figures.append(Figure(
        f"batch {n}, primary down and breaker open vs secondary alone",
        f"{down_s:.2f} s", f"{alone_s:.2f} s", down_s / alone_s, "<= 1.1",
        down_s / alone_s <= 1.1 and down[DataSource.FALLBACK] == n,
        f"{down[DataSource.FALLBACK]} of {n} from yahooquery; secondary alone served "
        f"{alone[DataSource.PRIMARY]}"))
    return figures
