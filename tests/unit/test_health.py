"""check_health: provider probes (concurrent, bounded, judged by the data contract) and the
cache round trip, with scripted providers and fake caches."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from resilient_provider.cache import CacheEntry, DiskCache, MemoryCache
from resilient_provider.errors import (
    ConfigError,
    ProviderUnavailableError,
    RateLimitError,
    SymbolNotFoundError,
)
from resilient_provider.health import CACHE_PROBE_SYMBOL, HealthReport, check_health
from resilient_provider.providers.protocol import InfoOrError
from resilient_provider.symbols import normalize_symbol
from resilient_provider.testing import FakeClock, Hang, Raise, ScriptedProvider, make_info

from ..conftest import fast_settings


@pytest.fixture
def providers() -> Iterator[list[ScriptedProvider]]:
    """Scripted providers a test fills in; closed after it (which releases hung calls)."""
    made: list[ScriptedProvider] = []
    yield made
    for provider in made:
        provider.close()


def check(*providers: Any, cache: Any = None, clock: FakeClock | None = None,
          **settings: Any) -> HealthReport:
    return check_health(fast_settings(**settings), providers=list(providers),
                        cache=cache if cache is not None else MemoryCache(), clock=clock)


def by_name(report: HealthReport) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


def test_all_up_reports_every_provider_then_the_cache(providers: list[ScriptedProvider]) -> None:
    providers += [ScriptedProvider("one"), ScriptedProvider("two")]
    report = check(*providers)
    assert report.up and report.status == "up" and report.probe_symbol == "SPY"
    assert [(c.name, c.kind, c.status) for c in report.checks] == [
        ("one", "provider", "up"), ("two", "provider", "up"), ("cache", "cache", "up")]
    price = make_info("SPY")["regularMarketPrice"]
    assert by_name(report)["one"].detail == f"SPY {price:g} USD"
    assert all(c.error_code is None and c.latency_ms >= 0 for c in report.checks)


def test_each_provider_gets_one_call_for_the_configured_probe_symbol(
        providers: list[ScriptedProvider]) -> None:
    providers += [ScriptedProvider("one"), ScriptedProvider("two")]
    report = check(*providers, health={"probe_symbol": "qqq"})
    assert report.probe_symbol == "QQQ"
    assert [p.calls for p in providers] == [[["QQQ"]], [["QQQ"]]]


def test_the_probes_run_concurrently() -> None:
    # Each probe waits until the other has started: run one after the other, both would fail.
    barrier = threading.Barrier(2)

    class Meeting:
        def __init__(self, name: str) -> None:
            self.name = name

        def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
            barrier.wait(timeout=5)
            return {s: make_info(s) for s in symbols}

        def close(self) -> None:
            barrier.abort()

    one, two = Meeting("one"), Meeting("two")
    assert check(one, two, health={"timeout_s": 10}).up
    one.close()


def test_a_hung_provider_is_down_on_timeout_and_does_not_hold_up_the_others(
        providers: list[ScriptedProvider]) -> None:
    providers += [ScriptedProvider("stuck", default=Hang()), ScriptedProvider("fine")]
    report = check(*providers, health={"timeout_s": 0.2})
    stuck = by_name(report)["stuck"]
    assert (stuck.status, stuck.error_code) == ("down", "timeout")
    assert stuck.detail == "no answer within 0.2s" and stuck.latency_ms >= 190
    assert by_name(report)["fine"].up and by_name(report)["cache"].up
    assert not report.up and report.status == "down"


def test_a_provider_error_is_down_with_its_code(providers: list[ScriptedProvider]) -> None:
    providers += [ScriptedProvider("limited", default=RateLimitError("HTTP 429", retry_after=5)),
                  ScriptedProvider("unknown", default=SymbolNotFoundError("no such symbol"))]
    report = check(*providers)
    assert [(c.name, c.status, c.error_code) for c in report.checks[:2]] == [
        ("limited", "down", "rate_limited"), ("unknown", "down", "symbol_not_found")]
    assert by_name(report)["limited"].detail == "HTTP 429"


def test_an_answer_breaking_the_data_contract_is_down(providers: list[ScriptedProvider]) -> None:
    providers += [ScriptedProvider("empty", default={"trailingPegRatio": None}),
                  ScriptedProvider("other", default=make_info("QQQ")),
                  ScriptedProvider("text", default="Quote not found for symbol: SPY")]
    report = check(*providers)
    assert [(c.status, c.error_code) for c in report.checks[:3]] == [("down", "data_contract")] * 3
    assert by_name(report)["empty"].detail == "answer has no finite positive price"


def test_a_raising_provider_is_down_with_secrets_masked(
        providers: list[ScriptedProvider]) -> None:
    leak = ConnectionError("GET https://u:hunter2@example.invalid/?apikey=S3CR3T refused")
    providers += [ScriptedProvider("raising", default=Raise(leak)),
                  ScriptedProvider("typed", default=Raise(ProviderUnavailableError("gone")))]
    report = check(*providers)
    raising = by_name(report)["raising"]
    assert (raising.status, raising.error_code) == ("down", "provider_unavailable")
    assert "ConnectionError" in raising.detail
    assert "hunter2" not in raising.detail and "S3CR3T" not in raising.detail
    assert by_name(report)["typed"].detail == "gone"


class RecordingCache(MemoryCache):
    """A memory cache that records deletes and can fail writes, reads or deletes."""

    def __init__(self, *, fail: str | None = None, lose: bool = False) -> None:
        super().__init__()
        self.fail, self.lose = fail, lose
        self.deleted: list[str] = []

    def set(self, symbol: str, data: Mapping[str, Any], *, fetched_at: float,
            provider: str) -> None:
        if self.fail == "write":
            raise OSError(28, "No space left on device")
        if not self.lose:
            super().set(symbol, data, fetched_at=fetched_at, provider=provider)

    def get(self, symbol: str) -> CacheEntry | None:
        if self.fail == "read":
            raise OSError("database disk image is malformed")
        return super().get(symbol)

    def delete(self, symbol: str) -> bool:
        self.deleted.append(symbol)
        if self.fail == "delete":
            raise OSError("attempt to write a readonly database")
        return super().delete(symbol)


@pytest.mark.parametrize(("fail", "detail"), [
    ("write", "write failed: OSError: [Errno 28] No space left on device"),
    ("read", "read failed: OSError: database disk image is malformed"),
    ("delete", "delete failed: OSError: attempt to write a readonly database"),
])
def test_a_broken_cache_is_down_naming_the_step_that_failed(fail: str, detail: str) -> None:
    report = check(cache=RecordingCache(fail=fail))
    (cache,) = report.checks
    assert (cache.name, cache.status, cache.error_code, cache.detail) == (
        "cache", "down", "cache_error", detail)
    assert not report.up


def test_a_cache_that_loses_what_it_was_given_is_down() -> None:
    report = check(cache=RecordingCache(lose=True))
    assert report.checks[0].detail == ("read failed: LookupError: the entry just written was "
                                       "not read back")


def test_a_failed_read_still_deletes_the_probe_entry() -> None:
    cache = RecordingCache(fail="read")
    check(cache=cache)
    assert cache.deleted == [CACHE_PROBE_SYMBOL] and cache.get_many([CACHE_PROBE_SYMBOL]) == {}


def test_the_cache_probe_leaves_real_entries_alone_and_nothing_behind(clock: FakeClock) -> None:
    cache = RecordingCache()
    cache.set("SPY", make_info("SPY"), fetched_at=clock(), provider="one")
    assert check(cache=cache).up
    assert normalize_symbol(CACHE_PROBE_SYMBOL) == CACHE_PROBE_SYMBOL
    assert cache.get(CACHE_PROBE_SYMBOL) is None and cache.deleted == [CACHE_PROBE_SYMBOL]
    entry = cache.get("SPY")
    assert entry is not None and entry.provider == "one"


def test_the_configured_disk_cache_is_built_checked_and_left_clean(tmp_path: Path) -> None:
    settings = fast_settings(cache={"backend": "disk", "path": str(tmp_path / "cache")})
    report = check_health(settings, providers=[])
    assert report.up and report.checks[0].detail.startswith("DiskCache:")
    cache = DiskCache(tmp_path / "cache")
    try:
        assert cache.get(CACHE_PROBE_SYMBOL) is None
    finally:
        cache.close()


def test_a_cache_that_cannot_be_opened_is_down(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings = fast_settings(cache={"backend": "disk", "path": str(blocker / "cache")})
    (cache,) = check_health(settings, providers=[]).checks
    assert (cache.status, cache.error_code) == ("down", "cache_error")
    assert cache.detail.startswith("open failed:")


def test_an_unknown_configured_provider_is_a_config_error() -> None:
    settings = fast_settings(providers=["yfinance", "no-such-provider"])
    with pytest.raises(ConfigError, match="no-such-provider"):
        check_health(settings)


def test_the_report_as_json(providers: list[ScriptedProvider], clock: FakeClock) -> None:
    providers += [ScriptedProvider("one"), ScriptedProvider("two", default=RateLimitError("429"))]
    doc = json.loads(json.dumps(check(*providers, clock=clock).to_dict()))
    assert doc["status"] == "down" and doc["probe_symbol"] == "SPY"
    assert doc["checked_at"].endswith("+00:00")
    assert [(c["name"], c["kind"], c["status"], c["error_code"]) for c in doc["checks"]] == [
        ("one", "provider", "up", None), ("two", "provider", "down", "rate_limited"),
        ("cache", "cache", "up", None)]
    assert all(isinstance(c["latency_ms"], float) and c["detail"] for c in doc["checks"])
