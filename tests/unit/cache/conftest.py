"""Fixtures for the cache tests: every backend behind one parametrized fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from resilient_provider.cache import CacheBackend, DiskCache, MemoryCache


@pytest.fixture(params=["memory", "disk"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CacheBackend]:
    """Each backend in turn, empty, closed after the test."""
    cache: CacheBackend = MemoryCache() if request.param == "memory" else DiskCache(tmp_path / "cache")
    yield cache
    cache.close()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """Where a test's disk cache lives (not created yet)."""
    return tmp_path / "cache"


@pytest.fixture
def disk(cache_dir: Path) -> Iterator[DiskCache]:
    """A disk cache in ``cache_dir``, closed after the test."""
    cache = DiskCache(cache_dir)
    yield cache
    cache.close()
