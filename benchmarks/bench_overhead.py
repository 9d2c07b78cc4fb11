"""Item 6: one symbol at a time through the façade versus ``yf.Ticker(s).info`` directly.

The target (<= 1.05) is read against a fake Yahoo that answers like a network does: 50 ms per
request, as item 8 measures batches, and 5 ms. A server answering in 0 ms turns the ratio
into ours-CPU over yfinance's-CPU per symbol; that run is shown for reference: it measures the
fixed cost we add (the cache write, the hop onto a timeout-guarded thread, bookkeeping), not
a share of any real request.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yfinance as yf

from resilient_provider.testing import YahooRoutingSession

from .common import Figure, facade, fresh_raw_yfinance, timed
from .servers import fake_yahoo


def run(n: int, latency_s: float, *, reference: bool = False) -> Figure:
    """``n`` symbols, alternating raw yfinance and the façade per symbol (same server)."""
    symbols = [f"OV{i:03d}" for i in range(n)]
    raw_s = ours_s = 0.0
    with (fake_yahoo(latency_s=latency_s) as url, tempfile.TemporaryDirectory() as tmp,
          facade(Path(tmp), primary_url=url) as provider):
        fresh_raw_yfinance()
        session = YahooRoutingSession(url, timeout_s=10)
        yf.Ticker("WARM", session=session).info  # noqa: B018 - both sides get their crumb first
        provider.get_ticker_info("WARM")
        for index, symbol in enumerate(symbols):
            def raw(symbol: str = symbol) -> None:
                info = yf.Ticker(symbol, session=session).info
                assert info.get("regularMarketPrice"), symbol

            def ours(symbol: str = symbol) -> None:
                info = provider.get_ticker_info(symbol)
                assert info["_data_source"] == "primary", info

            if index % 2:  # alternate who goes first, so drift hits both alike
                raw_s += timed(raw)
                ours_s += timed(ours)
            else:
                ours_s += timed(ours)
                raw_s += timed(raw)
    ratio = ours_s / raw_s
    return Figure(
        f"overhead, {n} symbols at {latency_s * 1000:.0f} ms/request",
        f"{ours_s / n * 1000:.2f} ms/symbol", f"{raw_s / n * 1000:.2f} ms/symbol (raw yfinance)",
        ratio, "(reference: no network)" if reference else "<= 1.05",
        None if reference else ratio <= 1.05,
        f"ours - raw = {(ours_s - raw_s) / n * 1000:.2f} ms per symbol, the same at any latency: "
        "the cache write and our bookkeeping")
