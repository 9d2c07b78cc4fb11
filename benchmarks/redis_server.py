"""A private redis-server for the fleet benchmarks, and the faults their outage runs need.

Every fleet benchmark talks to a Redis of its own: a ``redis-server`` started here in a
temporary directory, on a unix socket and/or a free 127.0.0.1 port (never the shared 6379),
with no persistence (``--save "" --appendonly no``), stopped afterwards. Nothing is ever
flushed: runs keep apart by key prefix. Fault runs SIGKILL it (refused: the server is gone),
SIGSTOP it (hung: the kernel still accepts connections, nothing answers) or point a client at
:func:`blackhole` (a listener that never accepts or answers).

``benchmarks/`` is not a test package, so this mirrors ``tests/redis_server.py`` rather than
importing pytest-bound code from it.
"""

from __future__ import annotations

import importlib.util
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The port a shared Redis listens on: never ours.
SHARED_PORT = 6379


def missing() -> str | None:
    """Why the fleet benchmarks cannot run here (no ``redis-server`` or no ``redis``
    package), or None when they can."""
    lacking = [] if shutil.which("redis-server") else ["redis-server"]
    if importlib.util.find_spec("redis") is None:
        lacking.append("the redis package")
    return f"{' and '.join(lacking)} missing" if lacking else None


def free_port() -> int:
    """A loopback port nothing listens on now (never the shared 6379)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port != SHARED_PORT:
            return port


class RedisServer:
    """One private redis-server process in ``directory``: start, stop, and the faults.

    Args:
        directory: its working directory (and the unix socket's).
        tcp: listen on a free 127.0.0.1 port too (timeouts and blackholes need TCP; a unix
            socket is the faster path for everything else).
    """

    def __init__(self, directory: Path, *, tcp: bool = True) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        self.binary = binary
        self.directory = directory
        self.port = free_port() if tcp else 0
        self.socket_path = directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """The TCP URL (only with ``tcp``)."""
        if not self.port:
            raise RuntimeError("this server listens on its unix socket only")
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def unix_url(self) -> str:
        """The unix-socket URL."""
        return f"unix://{self.socket_path}?db=0"

    def start(self) -> None:
        """Start the server (again, after :meth:`kill`) and wait until it answers PING."""
        if self.process is not None and self.process.poll() is None:
            return
        command = [self.binary, "--port", str(self.port), "--unixsocket", str(self.socket_path),
                   "--unixsocketperm", "700", "--dir", str(self.directory), "--save", "",
                   "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"]
        if self.port:
            command += ["--bind", "127.0.0.1"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        give_up = time.monotonic() + 10
        while not self._pongs():
            if time.monotonic() > give_up or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server did not start in {self.directory}")
            time.sleep(0.02)  # real time: a process starting

    def stop(self) -> None:
        """Stop the server if it runs (resumed first, so a paused one can exit)."""
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-run, its data with it; connecting is refused."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: connections stay open and new ones are accepted, but nothing answers."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def _pongs(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(0.2)
                conn.connect(str(self.socket_path))
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def private_redis(directory: Path, *, tcp: bool = True) -> Iterator[RedisServer]:
    """A started :class:`RedisServer` in ``directory``, stopped afterwards."""
    server = RedisServer(directory, tcp=tcp)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def blackhole(*, handshake: bool = True) -> Iterator[str]:
    """A Redis URL at a TCP listener that never accepts, reads or answers; yields the URL.

    With ``handshake`` the kernel completes connections into the listen backlog: a client
    connects at once, then waits for a reply that never comes (its socket timeout ends the
    wait). Without, the backlog is kept full (``listen(0)`` and one connection of ours), so
    the kernel drops new connections' SYNs: the client's connect timeout ends the wait, as
    with a firewall that drops packets.
    """
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64 if handshake else 0)
        port = listener.getsockname()[1]
        assert port != SHARED_PORT
        if not handshake:
            filler.connect(("127.0.0.1", port))
        yield f"redis://127.0.0.1:{port}/0"
