"""Offline mode for price history (the ``offline`` setting): bars from the cache alone, at once,
tagged as such; no provider asked, even one that would hang."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from resilient_provider import DataSource, ResilientProvider
from resilient_provider.cache import DiskCache
from resilient_provider.strategy.offline import OFFLINE_STEP
from resilient_provider.testing import FakeClock, Hang, ScriptedHistoryProvider
from tests.conftest import fast_settings

NOW = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)


def facade(provider: ScriptedHistoryProvider, path: Path, clock: FakeClock,
           **settings: object) -> ResilientProvider:
    """A façade whose caches (info and history) live in ``path``: a second one sees the
    bars the first fetched."""
    return ResilientProvider([provider], cache=DiskCache(path, ttl_s=None),
                             settings=fast_settings(**settings), clock=clock)


def test_offline_history_answers_from_the_cache_alone(tmp_path: Path) -> None:
    clock = FakeClock(NOW.timestamp())
    live = ScriptedHistoryProvider("live")
    with facade(live, tmp_path, clock) as online:
        past = online.get_history("AAPL", start="2024-01-02", end="2024-03-01")
        recent = online.get_history("AAPL", period="1mo")
    hung = ScriptedHistoryProvider("hung")
    for symbol in ("AAPL", "MSFT"):
        hung.set_history(symbol, Hang())  # asked, the test would hang: it is not asked
    clock.advance(3600)  # past the forming bar's freshness

    with facade(hung, tmp_path, clock, offline=True, enable_stale_cache=False) as offline:
        final = offline.get_history("AAPL", start="2024-01-02", end="2024-03-01")
        stale = offline.get_history("AAPL", period="1mo")
        missing = offline.get_history("MSFT", period="1mo")

    assert hung.history_calls == [] and clock.sleeps == []
    assert final.source is DataSource.CACHE_FRESH and final.attempts[0] == OFFLINE_STEP
    pd.testing.assert_frame_equal(final.frame, past.frame)
    # Offline, stale bars are served (tagged stale) even with enable_stale_cache off.
    assert (stale.source, stale.is_stale) == (DataSource.CACHE_STALE, True)
    pd.testing.assert_frame_equal(stale.frame, recent.frame.loc[stale.frame.index[0]:])
    assert (missing.source, missing.error_code) == (DataSource.ERROR, "offline_no_cache")
    assert missing.frame.empty and missing.attempts[0] == OFFLINE_STEP
