"""`health` reports fleet mode's Redis: up with its version, down with why, never the password."""

from __future__ import annotations

from resilient_provider import Settings
from resilient_provider.health import check_health
from resilient_provider.testing import ScriptedProvider
from tests.redis_server import RedisServer, free_port

from .conftest import shared_settings


def settings_for(url: str, prefix: str) -> Settings:
    return Settings(providers=[], cache={"backend": "memory"},
                    shared=shared_settings(url, prefix))


def test_health_reports_redis_up(redis_server: RedisServer, key_prefix: str) -> None:
    report = check_health(settings_for(redis_server.unix_url, key_prefix),
                          providers=[ScriptedProvider("one")])
    [redis] = [c for c in report.checks if c.kind == "redis"]
    assert redis.up and ("Redis 7" in redis.detail or "Redis 8" in redis.detail)
    scan = redis_server.client().scan(match=f"{key_prefix}:*", count=1000)[1]
    assert scan == []  # the probe key is gone


def test_health_reports_redis_down_without_the_password(key_prefix: str) -> None:
    url = f"redis://:pa55word-xyz@127.0.0.1:{free_port()}/0"
    report = check_health(settings_for(url, key_prefix), providers=[ScriptedProvider("one")])
    [redis] = [c for c in report.checks if c.kind == "redis"]
    assert not redis.up and redis.error_code == "redis_down"
    assert "pa55word-xyz" not in str(report.to_dict())
    assert not report.up


def test_health_has_no_redis_check_when_fleet_mode_is_off() -> None:
    report = check_health(Settings(providers=[], cache={"backend": "memory"}),
                          providers=[ScriptedProvider("one")])
    assert [c.kind for c in report.checks] == ["provider", "cache"]
