"""The cache tools on the façade: cache_entries, cache_entry, export_cache, prune_cache,
clear_cache (resilient_provider.cache_tools, resilient_provider.cache_export)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from resilient_provider import DataSource
from resilient_provider.cache import CacheEntry, DiskCache, MemoryCache, NotFoundEntry
from resilient_provider.cache.base import cache_key, encode_entry
from resilient_provider.cache_export import CSV_COLUMNS
from resilient_provider.cache_tools import CacheNotListableError, CacheRecord, ClearedCounts
from resilient_provider.errors import ConfigError, InvalidSymbolError, SymbolNotFoundError
from resilient_provider.testing import (
    FakeClock,
    ScriptedHistoryProvider,
    ScriptedProvider,
    make_info,
)
from tests.conftest import MakeFacade

HOUR = 3600.0
DAY = 86400.0


@pytest.fixture
def cache(clock: FakeClock) -> MemoryCache:
    """AAPL fetched 1 h ago, MSFT 3 days ago (stale), OLD 9 days ago (too old: kept by a cache
    without a ttl), WRONG holding another symbol's data, DEAD confirmed unknown 2 h ago."""
    cache = MemoryCache(clock=clock)
    now = clock()
    cache.set_many({
        "AAPL": CacheEntry(make_info("AAPL"), now - HOUR, "yfinance"),
        "MSFT": CacheEntry(make_info("MSFT"), now - 3 * DAY, "yahooquery"),
        "OLD": CacheEntry(make_info("OLD"), now - 9 * DAY, "yfinance"),
        "WRONG": CacheEntry(make_info("OTHER"), now - HOUR, "yfinance"),
    })
    cache.set_not_found([NotFoundEntry("DEAD", now - 2 * HOUR, "yfinance"),
                         NotFoundEntry("GONE", now - 2 * DAY, "yfinance")], keep_s=30 * DAY)
    return cache


def test_cache_entries_lists_every_entry_and_negative_row_sorted_with_its_status(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    listed = [(r.symbol, r.kind, r.status, r.provider) for r in provider.cache_entries()]
    assert listed == [
        ("AAPL", "entry", "fresh", "yfinance"),
        ("DEAD", "not_found", "not_found", "yfinance"),
        ("GONE", "not_found", "not_found_expired", "yfinance"),  # past cache.not_found_for (24 h)
        ("MSFT", "entry", "stale", "yahooquery"),
        ("OLD", "entry", "too_old", "yfinance"),
        ("WRONG", "entry", "invalid", "yfinance"),  # the cascade would refuse it
    ]


def test_each_record_carries_its_age_fetched_at_and_data(
        make_facade: MakeFacade, cache: MemoryCache, clock: FakeClock) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    aapl = next(r for r in provider.cache_entries() if r.symbol == "AAPL")
    assert aapl.age_s == HOUR and aapl.fetched_at == clock() - HOUR
    assert aapl.data == make_info("AAPL")
    assert aapl.to_dict(with_data=False) == {
        "symbol": "AAPL", "kind": "entry", "status": "fresh", "provider": "yfinance",
        "fetched_at": "2025-12-31T23:00:00.000+00:00", "age_s": 3600.0}


def test_cache_entries_can_leave_out_the_negative_rows(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    assert {r.kind for r in provider.cache_entries(include_not_found=False)} == {"entry"}


def test_a_row_whose_key_is_no_valid_symbol_is_left_out(
        make_facade: MakeFacade, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    cache = MemoryCache(clock=clock)
    cache.set("AAPL", make_info("AAPL"), fetched_at=clock(), provider="p")
    planted = CacheEntry(make_info("AAPL"), clock(), "p")
    cache._rows[cache_key("\x1b[31mEVIL/../x")] = (clock(), encode_entry(planted))
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    assert [r.symbol for r in provider.cache_entries()] == ["AAPL"]
    assert "left out 1 cache rows" in caplog.text and "EVIL" not in caplog.text


def test_cache_entry_shows_an_entry_else_a_negative_row_else_none(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    msft = provider.cache_entry(" msft ")
    assert isinstance(msft, CacheRecord) and msft.status == "stale" and msft.data is not None
    dead = provider.cache_entry("DEAD")
    assert dead is not None and dead.kind == "not_found" and dead.data is None
    assert provider.cache_entry("NVDA") is None


def test_cache_entry_validates_the_symbol_before_any_read(make_facade: MakeFacade) -> None:
    class Exploding(MemoryCache):
        def get(self, symbol: str) -> CacheEntry | None:
            raise AssertionError("read before validation")

    provider = make_facade(ScriptedProvider("p"), cache=Exploding())
    with pytest.raises(InvalidSymbolError, match=r"AAPL/\.\./x"):
        provider.cache_entry("AAPL/../x")


def test_what_the_facade_fetched_shows_up_in_the_cache_tools(
        make_facade: MakeFacade) -> None:
    provider = make_facade(ScriptedProvider("p", {"DEAD": SymbolNotFoundError("no such")}))
    provider.batch_get_ticker_info(["AAPL", "DEAD"])
    assert [(r.symbol, r.status) for r in provider.cache_entries()] == [
        ("AAPL", "fresh"), ("DEAD", "not_found")]


def test_prune_cache_removes_what_is_older_than_max_stale_age_by_default(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    assert provider.prune_cache() == 1  # OLD (9 days); the negative rows are younger than 7 d
    assert "OLD" not in {r.symbol for r in provider.cache_entries()}


def test_prune_cache_takes_an_age_as_a_duration_or_seconds(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    assert provider.prune_cache(older_than="1d") == 3  # MSFT, OLD and the row of GONE
    assert provider.prune_cache(older_than=1800) == 3  # AAPL, WRONG and the row of DEAD
    assert provider.cache_entries() == []


def test_prune_cache_refuses_an_age_that_is_no_duration_naming_it(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    with pytest.raises(ConfigError, match="fortnight"):
        provider.prune_cache(older_than="fortnight")
    with pytest.raises(ConfigError, match="-5"):
        provider.prune_cache(older_than=-5)


def test_clear_cache_removes_cached_price_histories_too(make_facade: MakeFacade) -> None:
    # "cache clear" that left the bars behind would keep serving them.
    history = ScriptedHistoryProvider("h")
    provider = make_facade(history)
    provider.get_history("AAPL", start="2024-01-02", end="2024-02-01")
    provider.get_history("MSFT", start="2024-01-02", end="2024-02-01")
    assert provider.clear_cache() == ClearedCounts(entries=0, not_found=0, histories=2)
    assert provider.get_history("AAPL", start="2024-01-02", end="2024-02-01").source \
        is DataSource.PRIMARY
    assert len(history.history_calls) == 3


def test_clear_cache_removes_everything_and_counts_it(
        make_facade: MakeFacade, cache: MemoryCache) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    assert provider.clear_cache() == ClearedCounts(entries=4, not_found=2)
    assert provider.cache_entries() == [] and cache.get_not_found(["DEAD"]) == {}


def test_export_cache_writes_json_lines(make_facade: MakeFacade, cache: MemoryCache,
                                        tmp_path: Path) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    assert provider.export_cache(tmp_path / "cache.jsonl") == 6
    rows = [json.loads(line) for line in (tmp_path / "cache.jsonl").read_text().splitlines()]
    assert [r["symbol"] for r in rows] == ["AAPL", "DEAD", "GONE", "MSFT", "OLD", "WRONG"]
    assert rows[0]["data"]["regularMarketPrice"] == make_info("AAPL")["regularMarketPrice"]
    assert rows[1]["data"] is None and rows[1]["status"] == "not_found"


def test_export_cache_writes_json_and_csv(make_facade: MakeFacade, cache: MemoryCache,
                                          tmp_path: Path) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    provider.export_cache(tmp_path / "cache.json")
    assert len(json.loads((tmp_path / "cache.json").read_text())) == 6
    provider.export_cache(tmp_path / "cache.CSV")
    with open(tmp_path / "cache.CSV", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["symbol"] == "AAPL" and rows[0]["status"] == "fresh"
    assert float(rows[0]["regularMarketPrice"]) == make_info("AAPL")["regularMarketPrice"]
    assert rows[1]["symbol"] == "DEAD" and rows[1]["regularMarketPrice"] == ""


@pytest.mark.parametrize("name", ["cache.xlsx", "cache", "cache.txt"])
def test_export_cache_refuses_another_extension_listing_the_allowed_ones(
        make_facade: MakeFacade, cache: MemoryCache, tmp_path: Path, name: str) -> None:
    provider = make_facade(ScriptedProvider("p"), cache=cache)
    with pytest.raises(ValueError, match=r"\.jsonl, \.json, \.csv") as info:
        provider.export_cache(tmp_path / name)
    assert name in str(info.value)
    assert not (tmp_path / name).exists()


def test_the_disk_cache_works_with_the_tools(make_facade: MakeFacade, tmp_path: Path,
                                             clock: FakeClock) -> None:
    disk = DiskCache(tmp_path / "cache", ttl_s=None)
    try:
        disk.set("AAPL", make_info("AAPL"), fetched_at=clock() - 3 * DAY, provider="yfinance")
        provider = make_facade(ScriptedProvider("p"), cache=disk)
        assert [(r.symbol, r.status) for r in provider.cache_entries()] == [("AAPL", "stale")]
        assert provider.prune_cache(older_than="2d") == 1
    finally:
        disk.close()


def test_a_cache_that_cannot_list_says_so(make_facade: MakeFacade) -> None:
    class Plain(MemoryCache):  # a user's backend, written before the inventory existed
        entries = None  # type: ignore[assignment]

    provider = make_facade(ScriptedProvider("p"), cache=Plain())
    with pytest.raises(CacheNotListableError, match="cannot list"):
        provider.cache_entries()


def test_the_readme_example_runs_and_its_offline_answer_sends_no_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from resilient_provider.testing import FakeYahooServer
    from tests.conftest import write_fake_yahoo_config
    from tests.unit.test_readme_examples import python_block_after

    block = python_block_after("### Cache tools and offline mode")
    online, offline = block.split("offline = settings")
    with FakeYahooServer(seed=4) as yahoo:
        config = Path(write_fake_yahoo_config(tmp_path, yahoo.base_url, timeout_s=5))
        config.write_text(config.read_text().replace(
            "cache: {backend: memory}", f"cache: {{path: '{tmp_path / 'cache'}'}}"))
        monkeypatch.chdir(tmp_path)
        namespace: dict[str, object] = {}
        exec(online, namespace)
        sent = yahoo.count()
        exec("offline = settings" + offline, namespace)
        assert yahoo.count() == sent
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in out[:2]] == [["AAPL", "fresh"], ["MSFT", "fresh"]]
    assert out[2] == "cache_fresh"
    assert (tmp_path / "cache.csv").read_text().startswith("symbol,kind,status,")
