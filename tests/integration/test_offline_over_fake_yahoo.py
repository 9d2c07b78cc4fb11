"""Offline mode over the real adapters: what they cached is served while both fake Yahoos are
down, without one request to them and without one retry wait."""

from __future__ import annotations

from pathlib import Path

from resilient_provider import ResilientProvider
from resilient_provider.cache import DiskCache
from resilient_provider.testing import Fault
from tests.conftest import fast_settings

from .conftest import Rig

DAY = 86400.0


def requests_sent(rig: Rig) -> int:
    return rig.yahoo_yf.count() + rig.yahoo_yq.count()


def test_offline_serves_the_cache_with_yahoo_down_and_sends_nothing(
        rig: Rig, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    try:
        with ResilientProvider([rig.yf, rig.yq], cache=cache, clock=rig.clock,
                               settings=fast_settings()) as online:
            assert all(r.success for r in online.batch_fetch(["AAPL", "MSFT"]).values())
        rig.clock.advance(3 * DAY)  # stale now
        rig.yahoo_yf.inject(Fault.server_error(503))
        rig.yahoo_yq.inject(Fault.server_error(503))
        sent = requests_sent(rig)

        with ResilientProvider([rig.yf, rig.yq], cache=cache, clock=rig.clock,
                               settings=fast_settings(offline=True)) as offline:
            frame = offline.batch_get_ticker_info(["AAPL", "MSFT", "NVDA"], as_frame=True)
        assert list(frame["_data_source"]) == ["cache_stale", "cache_stale", "error"]
        assert list(frame["_error_code"])[2] == "offline_no_cache"
        assert frame.loc["AAPL", "regularMarketPrice"] > 0
        assert requests_sent(rig) == sent and rig.clock.sleeps == []

        # The same request online: the dead sources are asked and retried before the cache
        # answers, which is what offline mode spares.
        with ResilientProvider([rig.yf, rig.yq], cache=cache, clock=rig.clock,
                               settings=fast_settings()) as online:
            assert online.fetch("AAPL").source.value == "cache_stale"
        assert requests_sent(rig) > sent and rig.clock.sleeps
    finally:
        cache.close()
