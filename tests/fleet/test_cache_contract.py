"""The CacheBackend contract of tests/unit/cache/test_contract.py, run against RedisCache and
the tier (disk over Redis) on the private redis-server: the same tests, another ``backend``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from resilient_provider.cache import CacheBackend, DiskCache
from resilient_provider.shared.cache import RedisCache
from resilient_provider.shared.link import RedisLink
from resilient_provider.shared.tiered_cache import TieredCache
from tests.redis_server import RedisServer
from tests.unit.cache.test_contract import *  # noqa: F403 - the contract's tests, collected here

from .conftest import shared_settings


@pytest.fixture(params=["redis", "tier"])
def backend(request: pytest.FixtureRequest, redis_server: RedisServer, key_prefix: str,
            tmp_path: Path) -> Iterator[CacheBackend]:
    """RedisCache alone, then the tier over a disk cache: empty, under a prefix of its own."""
    link = RedisLink(shared_settings(redis_server.unix_url, key_prefix))
    shared = RedisCache(link, ttl_s=3600.0)
    cache: CacheBackend = (shared if request.param == "redis"
                           else TieredCache(DiskCache(tmp_path / "cache"), shared))
    yield cache
    cache.close()
    link.close()
