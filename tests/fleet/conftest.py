"""Fixtures of the fleet-mode tests: a private redis-server (see tests/redis_server.py) and,
per test, a key prefix of its own, so tests share one server without touching each other's
keys (nothing is ever flushed)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from resilient_provider.config import SharedSettings
from tests.redis_server import RedisServer, private_redis

_PREFIXES = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private server for the session (tests that kill or pause one start their own)."""
    with private_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private server for one test, to kill or pause."""
    with private_redis(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def key_prefix(worker_id: str = "main") -> str:
    return f"rptest{next(_PREFIXES)}"


def shared_settings(url: str, prefix: str, **overrides: object) -> SharedSettings:
    """Fleet-mode settings for a test: enabled, at ``url``, under ``prefix``."""
    return SharedSettings.model_validate(
        {"enabled": True, "redis_url": url, "key_prefix": prefix, **overrides})
