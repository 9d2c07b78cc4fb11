"""A disk cache that cannot be opened leaves the run on the providers, with one WARNING."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resilient_provider import DataSource, ResilientProvider
from resilient_provider.cache import DiskCache, open_cache
from resilient_provider.cache.disabled import DisabledCache
from resilient_provider.config import Settings
from resilient_provider.health import check_health
from resilient_provider.testing import FakeClock, ScriptedProvider

from ...conftest import fast_settings


def disk_settings(cache_path: Path, tmp_path: Path) -> Settings:
    return fast_settings(cache={"backend": "disk", "path": str(cache_path)},
                         stats={"path": str(tmp_path / "stats.sqlite3")})


def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a directory")
    return path


def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: DiskCache, *args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(DiskCache, "__init__", full)


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("resilient_provider.cache")]


@pytest.fixture
def facade_on(tmp_path: Path, clock: FakeClock) -> Iterator[Any]:
    made: list[ResilientProvider] = []

    def make(cache_path: Path) -> ResilientProvider:
        facade = ResilientProvider([ScriptedProvider("one")], settings=disk_settings(cache_path, tmp_path),
                                   clock=clock)
        made.append(facade)
        return facade

    yield make
    for facade in made:
        facade.close()


def test_a_cache_path_that_is_a_file_leaves_the_facade_on_its_providers(
        facade_on: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = a_file(tmp_path)
    facade = facade_on(path)
    result = facade.fetch("AAPL")
    assert result.success and result.source is DataSource.PRIMARY
    assert isinstance(facade.cache, DisabledCache)
    [warning] = cache_warnings(caplog)
    assert str(path) in warning and "without a cache" in warning
    assert path.read_text() == "not a directory"  # a user's file is never moved or changed


def test_a_full_disk_at_open_leaves_the_facade_on_its_providers(
        facade_on: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    disk_full(monkeypatch)
    facade = facade_on(tmp_path / "cache")
    assert facade.get_ticker_info("AAPL")["_data_source"] == "primary"
    [warning] = cache_warnings(caplog)
    assert str(tmp_path / "cache") in warning and "disk is full" in warning


def test_a_read_only_cache_directory_leaves_the_facade_on_its_providers(
        facade_on: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # As root a read-only directory is still writable, so the refusal is simulated by a
    # database SQLite cannot open for writing: a directory where the database file should be.
    cache_dir = tmp_path / "cache"
    (cache_dir / "cache.db").mkdir(parents=True)
    facade = facade_on(cache_dir)
    assert facade.get_ticker_info("AAPL")["_data_source"] == "primary"
    [warning] = cache_warnings(caplog)
    assert str(cache_dir) in warning


def test_open_cache_names_the_path_and_the_reason(tmp_path: Path, clock: FakeClock) -> None:
    path = a_file(tmp_path)
    cache = open_cache(disk_settings(path, tmp_path).cache, clock=clock)
    assert isinstance(cache, DisabledCache)
    assert cache.path == path and "Error" in cache.reason


def test_a_disabled_cache_keeps_nothing(tmp_path: Path) -> None:
    cache = DisabledCache(tmp_path, "reason")
    cache.set("AAPL", {"p": 1}, fetched_at=1.0, provider="one")
    assert cache.get("AAPL") is None and cache.get_many(["AAPL"]) == {}


def test_health_says_the_cache_is_off_and_why(tmp_path: Path) -> None:
    path = a_file(tmp_path)
    (check,) = check_health(disk_settings(path, tmp_path), providers=[]).checks
    assert (check.status, check.error_code) == ("down", "cache_error")
    assert "is off" in check.detail and str(path) in check.detail


def test_health_says_the_facade_cache_is_off(facade_on: Any, tmp_path: Path) -> None:
    facade = facade_on(a_file(tmp_path))
    (check,) = check_health(facade.settings, providers=[], cache=facade.cache).checks
    assert check.status == "down" and "is off" in check.detail
