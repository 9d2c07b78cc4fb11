"""The Redis link: bounded operations, one WARNING per outage, reconcilers on return, forks."""

from __future__ import annotations

import logging
import os
import time

import pytest

from resilient_provider.shared.link import RedisDown, RedisLink
from resilient_provider.testing import FakeClock
from tests.redis_server import RedisServer

from .conftest import shared_settings


def test_an_operation_runs_against_redis(redis_server: RedisServer, key_prefix: str) -> None:
    link = RedisLink(shared_settings(redis_server.unix_url, key_prefix))
    key = link.key("probe")
    assert key == f"{key_prefix}:probe"
    link.run("set", lambda r: r.set(key, b"1", px=5000))
    assert link.run("get", lambda r: r.get(key)) == b"1"
    link.close()


def test_a_hung_redis_gives_up_within_the_socket_timeout(own_redis: RedisServer,
                                                         key_prefix: str) -> None:
    # redis-py 8's default retries made one call take up to 59 s with Redis hung (issue 16).
    link = RedisLink(shared_settings(own_redis.url, key_prefix, socket_timeout_s=0.2))
    link.run("ping", lambda r: r.ping())
    with own_redis.paused():
        started = time.monotonic()
        with pytest.raises(RedisDown):
            link.run("get", lambda r: r.get(link.key("x")))
        assert time.monotonic() - started < 0.2 + 0.05 + 0.1  # timeout + 50 ms, + scheduling
    link.close()


def test_a_refused_connection_gives_up_at_once(tmp_path: object, key_prefix: str) -> None:
    from tests.redis_server import free_port

    link = RedisLink(shared_settings(f"redis://127.0.0.1:{free_port()}/0", key_prefix))
    started = time.monotonic()
    with pytest.raises(RedisDown):
        link.run("get", lambda r: r.get("x"))
    assert time.monotonic() - started < 0.25 + 0.05


def test_while_down_nothing_is_tried_and_one_warning_is_logged(
        own_redis: RedisServer, key_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(start=0.0)
    link = RedisLink(shared_settings(own_redis.url, key_prefix, retry_down_s=5), clock=clock)
    returned: list[int] = []
    link.on_return(lambda: returned.append(1))
    own_redis.kill()
    caplog.set_level(logging.WARNING, logger="resilient_provider.shared.link")
    for _ in range(3):
        with pytest.raises(RedisDown):
            link.run("get", lambda r: r.get("x"))
        clock.advance(1)
    assert not link.up and link.outages == 1
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    own_redis.start()
    clock.advance(5)
    assert link.up
    link.run("ping", lambda r: r.ping())
    assert returned == [1]  # reconciled once, on return
    link.close()


def test_the_password_is_never_in_the_warning(key_prefix: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    from tests.redis_server import free_port

    link = RedisLink(shared_settings(f"redis://:hunter2secret@127.0.0.1:{free_port()}/0",
                                     key_prefix))
    with pytest.raises(RedisDown):  # nothing listens there
        link.run("ping", lambda r: r.ping())
    assert "Redis at redis://:***@127.0.0.1" in caplog.text
    assert "hunter2secret" not in caplog.text and "hunter2secret" not in link.describe()
    assert "hunter2secret" not in repr(link.settings)


def test_a_forked_child_gets_its_own_connection(redis_server: RedisServer,
                                               key_prefix: str) -> None:
    link = RedisLink(shared_settings(redis_server.unix_url, key_prefix))
    parent = link.run("client id", lambda r: r.client_id())
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own connection, a different client id
        try:
            os.write(write, str(link.run("client id", lambda r: r.client_id())).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64))
    os.waitpid(pid, 0)
    assert child != parent
    assert link.run("client id", lambda r: r.client_id()) == parent
    link.close()
