"""Issue 18, acceptance 2 and 3 over both real adapters, counted at the fake Yahoo: a cached
range costs no request, an extension one request for the missing part; the primary down, the
fallback serves the same frame; both down, cached bars are served tagged fresh or stale."""

from __future__ import annotations

import pandas as pd

from resilient_provider import DataSource
from resilient_provider.testing import Fault

from .conftest import Rig

START, END, LATER_END = "2024-01-02", "2024-03-01", "2024-04-01"


def chart_requests(rig: Rig) -> tuple[int, int]:
    """Chart requests each fake Yahoo received: (yfinance's, yahooquery's)."""
    return rig.yahoo_yf.count(route="chart"), rig.yahoo_yq.count(route="chart")


def test_a_cached_range_costs_no_request_and_an_extension_one(rig: Rig) -> None:
    facade = rig.make()
    first = facade.get_history("AAPL", start=START, end=END)
    assert first.source is DataSource.PRIMARY and len(first.frame) > 30
    assert chart_requests(rig) == (1, 0)

    inside = facade.get_history("AAPL", start="2024-01-10", end="2024-02-01")
    assert inside.source is DataSource.CACHE_FRESH
    assert chart_requests(rig) == (1, 0)  # server-side: nothing asked
    pd.testing.assert_frame_equal(inside.frame, first.frame.loc["2024-01-10":"2024-01-31"])

    longer = facade.get_history("AAPL", start=START, end=LATER_END)
    assert chart_requests(rig) == (2, 0)  # one request, for March only
    assert longer.frame.index.min() == first.frame.index.min()
    whole = rig.make().get_history("AAPL", start=START, end=LATER_END)  # a cold façade
    assert chart_requests(rig) == (3, 0)
    pd.testing.assert_frame_equal(longer.frame, whole.frame)


def test_primary_down_the_fallback_serves_the_same_frame(rig: Rig) -> None:
    clean = rig.make().get_history("MSFT", start="2021-02-01", end="2022-01-31")
    assert clean.source is DataSource.PRIMARY and (clean.frame["dividends"] > 0).sum() == 4
    rig.yahoo_yf.inject(Fault.server_error(503), route="chart")

    fell = rig.make().get_history("MSFT", start="2021-02-01", end="2022-01-31")
    assert (fell.source, fell.provider) == (DataSource.FALLBACK, "yahooquery")
    pd.testing.assert_frame_equal(fell.frame, clean.frame)
    assert rig.yahoo_yq.count(route="chart") == 1


def test_both_down_cached_bars_are_served_fresh_or_stale(rig: Rig) -> None:
    facade = rig.make()
    final = facade.get_history("AAPL", start="2020-08-03", end="2020-10-01")  # the 2020 split
    recent = facade.get_history("AAPL", period="1mo")
    assert final.source is recent.source is DataSource.PRIMARY
    for yahoo in (rig.yahoo_yf, rig.yahoo_yq):
        yahoo.inject(Fault.server_error(503), route="chart")
    rig.clock.advance(3600)  # past the forming bar's freshness
    asked = chart_requests(rig)

    again = facade.get_history("AAPL", start="2020-08-03", end="2020-10-01")
    assert again.source is DataSource.CACHE_FRESH and not again.is_stale  # bars that ended
    assert chart_requests(rig) == asked  # final bars: not even a try
    pd.testing.assert_frame_equal(again.frame, final.frame)

    stale = facade.get_history("AAPL", period="1mo")
    assert stale.source is DataSource.CACHE_STALE and stale.is_stale
    assert chart_requests(rig) > asked  # the missing tail was asked of both, in vain
    assert len(stale.frame) > 0 and stale.frame.index.isin(recent.frame.index).all()
    pd.testing.assert_frame_equal(stale.frame, recent.frame.loc[stale.frame.index])
