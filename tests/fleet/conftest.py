"""Fixtures of the fleet-mode tests: a private redis-server (see tests/redis_server.py) and,
per test, a key prefix of its own, so tests share one server without touching each other's
keys (nothing is ever flushed)."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from resilient_provider.config import SharedSettings
from tests.redis_server import REQUIRED, RedisServer, private_redis

if TYPE_CHECKING:
    from resilient_provider.shared.link import RedisLink

_PREFIXES = itertools.count(1)


if importlib.util.find_spec("redis") is None and not REQUIRED:
    # Without the redis extra fleet mode is off: its tests are not even collected (their
    # modules import redis), and the rest of the suite runs unchanged (issue 16, item 10).
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private server for the session (tests that kill or pause one start their own).

    When the session ends it must show what fleet mode promises a shared server (issue 16,
    item 9): no KEYS, FLUSHDB or FLUSHALL ever sent, and every key left has a TTL.
    """
    with private_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server
        assert_polite(server)


def assert_polite(server: RedisServer) -> None:
    """No KEYS/FLUSHDB/FLUSHALL in ``server``'s command stats; every key has a TTL."""
    used = server.command_stats()
    assert not {"keys", "flushdb", "flushall"} & set(used), used
    client = server.client()
    forever = [key for key in client.scan_iter(count=1000) if client.pttl(key) == -1]
    assert forever == [], f"keys without a TTL: {forever[:10]}"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private server for one test, to kill or pause."""
    with private_redis(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def key_prefix(worker_id: str = "main") -> str:
    return f"rptest{next(_PREFIXES)}"


def shared_settings(url: str, prefix: str, **overrides: object) -> SharedSettings:
    """Fleet-mode settings for a test: enabled, at ``url``, under ``prefix``.

    The socket timeout is 2 s unless a test sets one: the shipped 0.25 s is for a Redis on
    the network, and on a loaded 2-CPU test machine a busy private server can miss it, mark
    Redis down and turn a test of sharing into one of the fallback.
    """
    return SharedSettings.model_validate(
        {"enabled": True, "redis_url": url, "key_prefix": prefix, "socket_timeout_s": 2,
         **overrides})


@pytest.fixture
def link(redis_server: RedisServer, key_prefix: str) -> Iterator[RedisLink]:
    """A Redis link on the session's server, under this test's key prefix."""
    from resilient_provider.shared.link import RedisLink  # here: needs the redis extra

    link = RedisLink(shared_settings(redis_server.unix_url, key_prefix))
    yield link
    link.close()


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[Any]:
    """A plain redis-py client on the session's server, to look at what was written."""
    client = redis_server.client()
    yield client
    client.close()
