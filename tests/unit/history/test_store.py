"""The history cache: JSON only, per (symbol, interval), coverage kept; never unpickled."""

from __future__ import annotations

import pickle
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from resilient_provider.cache import DiskCache, MemoryCache
from resilient_provider.history.coverage import Segment, merge_segments, missing_ranges
from resilient_provider.history.store import (
    CachedBars,
    DiskHistoryStore,
    MemoryHistoryStore,
    history_key,
    open_history_store,
)
from resilient_provider.testing import FakeClock, make_bars
from tests.conftest import fast_settings

START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
DAY = 86400.0


def entry() -> CachedBars:
    bars = make_bars("AAPL", START, END, dividends={"2024-01-10": 0.2})
    bars.loc[bars.index[2], "volume"] = None
    return CachedBars(bars, (Segment.fetched(START.timestamp(), END.timestamp(),
                                             fetched_at=END.timestamp() + DAY, provider="p",
                                             interval="1d"),))


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_an_entry_round_trips_bars_time_zone_and_coverage(kind: str, tmp_path: Path) -> None:
    store = (MemoryHistoryStore() if kind == "memory" else DiskHistoryStore(tmp_path / "h"))
    store.put("AAPL", "1d", entry())
    back = store.get("AAPL", "1d")
    assert back is not None
    assert back.bars.equals(entry().bars)
    assert str(getattr(back.bars.index, "tz", None)) == "America/New_York"
    assert back.segments == entry().segments
    assert store.get("AAPL", "1wk") is None and store.get("MSFT", "1d") is None
    store.close()


def test_writes_from_many_threads_at_once_are_all_kept(tmp_path: Path) -> None:
    # A batch's chunk threads write at once: waiting on SQLite's lock past the store's timeout
    # lost entries (7 of 500 symbols fetched again on a second run).
    store = DiskHistoryStore(tmp_path / "h", timeout_s=0.005)
    cached = entry()
    symbols = [f"S{i:03d}" for i in range(160)]

    def put_all(part: list[str]) -> None:
        for symbol in part:
            store.put(symbol, "1d", cached)

    threads = [threading.Thread(target=put_all, args=(symbols[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [s for s in symbols if store.get(s, "1d") is None] == []
    store.close()


def test_a_pickled_row_is_refused_unread(tmp_path: Path) -> None:
    store = DiskHistoryStore(tmp_path / "h")
    store._cache.set(history_key("AAPL", "1d"), pickle.dumps({"x": 1}))  # a planted pickle
    assert store.get("AAPL", "1d") is None
    store.close()


def test_keys_take_only_validated_symbols_and_known_intervals() -> None:
    with pytest.raises(ValueError, match="invalid symbol"):
        history_key("AAPL/../x", "1d")
    with pytest.raises(ValueError, match="not normalised"):
        history_key("aapl", "1d")
    with pytest.raises(ValueError, match="unknown interval"):
        history_key("AAPL", "7m")


def test_the_store_sits_beside_the_info_cache(tmp_path: Path) -> None:
    clock = FakeClock()
    assert isinstance(open_history_store(MemoryCache(), fast_settings(), clock=clock),
                      MemoryHistoryStore)
    disk = DiskCache(tmp_path / "info")
    store = open_history_store(disk, fast_settings(cache={"backend": "disk"}), clock=clock)
    assert isinstance(store, DiskHistoryStore) and store.directory == tmp_path / "info/history"
    store.close()
    disk.close()


def test_only_the_tail_past_the_final_bars_is_missing_once_the_forming_bar_is_stale() -> None:
    fetched_at = END.timestamp()
    segment = Segment.fetched(START.timestamp(), fetched_at, fetched_at=fetched_at,
                              provider="p", interval="1d", to_now=True)
    later = fetched_at + 3600
    # Fresh: nothing missing, not even the minute since.
    assert missing_ranges([segment], START.timestamp(), fetched_at + 60, now=fetched_at + 60,
                          fresh_for=900) == []
    assert missing_ranges([segment], START.timestamp(), later, now=later,
                          fresh_for=900) == [(fetched_at - DAY, later)]
    # A range before the segment is missing whole; one inside its final part never.
    assert missing_ranges([segment], START.timestamp() - 5 * DAY, START.timestamp() + DAY,
                          now=later, fresh_for=900) == [(START.timestamp() - 5 * DAY,
                                                         START.timestamp())]


def test_laid_over_segments_are_cut_and_final_neighbours_joined() -> None:
    a = Segment(0.0, 100.0, 200.0, "p", 100.0)
    b = Segment(100.0, 300.0, 300.0, "q", 250.0)
    tail = Segment(250.0, 400.0, 400.0, "q", 330.0)
    merged = merge_segments(merge_segments([a], b), tail)
    assert [(s.start_s, s.end_s, s.final_until_s) for s in merged] == [
        (0.0, 250.0, 250.0), (250.0, 400.0, 330.0)]
