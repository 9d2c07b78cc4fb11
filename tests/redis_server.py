"""A private redis-server for the tests of fleet mode: its own port and unix socket, its own
directory, no persistence. Never the shared server on 6379, never FLUSHALL.

Without ``redis-server`` (or the ``redis`` package) these tests are skipped, unless
``RP_REQUIRE_REDIS=1`` (set by ``.ci/run``), which makes a missing one a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import redis

REQUIRED = os.environ.get("RP_REQUIRE_REDIS") == "1"


def redis_or_skip() -> str:
    """The path of ``redis-server``; skip (or fail, under ``RP_REQUIRE_REDIS=1``) without it."""
    path = shutil.which("redis-server")
    missing = [] if path else ["redis-server"]
    try:
        import redis  # noqa: F401
    except ImportError:
        missing.append("the redis package (pip install -e '.[dev]')")
    if missing:
        message = f"fleet-mode tests need {' and '.join(missing)}"
        if REQUIRED:
            pytest.fail(message + " (RP_REQUIRE_REDIS=1)")
        pytest.skip(message)
    assert path is not None
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One private redis-server process: start, stop, SIGKILL, SIGSTOP/SIGCONT."""

    def __init__(self, directory: Path) -> None:
        self.binary = redis_or_skip()
        self.directory = directory
        self.port = free_port()
        self.socket_path = directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """A TCP URL (the tests of timeouts need TCP; most use :attr:`unix_url`)."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}?db=0"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--unixsocket", str(self.socket_path), "--unixsocketperm", "700",
             "--dir", str(self.directory), "--save", "", "--appendonly", "no",
             "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)  # real time: a process starting

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-run (its data with it)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def client(self) -> redis.Redis:
        import redis

        return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=5)

    def command_stats(self) -> dict[str, int]:
        """Calls per command since the server started (``INFO commandstats``)."""
        info = self.client().info("commandstats")
        return {name.removeprefix("cmdstat_"): int(stats["calls"]) for name, stats in info.items()}


@contextmanager
def private_redis(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
