"""The one connection to Redis of a worker: bounded, fork-safe, and never needed to answer.

Every operation of fleet mode goes through :meth:`RedisLink.run`. The client is built with
sub-second connect and socket timeouts and *no* retries of its own: redis-py 8's defaults
(retries with backoff on every command) made one call take up to 59 s with Redis hung. The
first error marks Redis down for ``retry_down_s`` with one WARNING for the outage; meanwhile
:meth:`~RedisLink.run` raises :class:`RedisDown` at once, without I/O, and every part of fleet
mode falls back to local state. The first operation that succeeds after an outage logs that
Redis is back and runs the reconcilers registered with :meth:`~RedisLink.on_return` (cache
writes made meanwhile replayed, open breakers pushed).

A worker forked after the link was built gets a client of its own on first use: a connection
shared across a fork interleaves two processes' replies.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..config import SharedSettings
from ..logs import get_logger
from ..redaction import redact

if TYPE_CHECKING:
    import redis

log = get_logger(__name__)

T = TypeVar("T")

#: Reconcilers run after an outage, once Redis answers again.
Reconciler = Callable[[], None]


class RedisDown(Exception):  # noqa: N818 - a state, as in "Redis is down", not an error
    """Redis is unavailable (it failed just now, or within ``retry_down_s``): use local state."""


class RedisLink:
    """A worker's Redis client, its up/down state and its keys.

    Args:
        settings: the ``shared`` settings (URL, prefix, timeouts, ``retry_down_s``).
        clock: monotonic seconds (how long Redis stays marked down).
    """

    def __init__(self, settings: SharedSettings, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.prefix = settings.key_prefix
        self._clock = clock
        self._lock = threading.Lock()
        self._client: redis.Redis | None = None
        self._pid: int | None = None
        self._down_until = 0.0
        self._down_since: float | None = None  # set during an outage
        self._outages = 0
        self._reconcilers: list[Reconciler] = []

    def key(self, *parts: str) -> str:
        """``<prefix>:<part>:<part>...``: every key fleet mode writes starts with the prefix."""
        return ":".join((self.prefix, *parts))

    def on_return(self, reconciler: Reconciler) -> None:
        """Run ``reconciler`` each time Redis answers again after an outage."""
        with self._lock:
            self._reconcilers.append(reconciler)

    @property
    def up(self) -> bool:
        """Whether Redis is not marked down (it may still fail at the next operation)."""
        with self._lock:
            return self._clock() >= self._down_until

    @property
    def outages(self) -> int:
        """How many outages this link has seen."""
        with self._lock:
            return self._outages

    def run(self, what: str, operation: Callable[[redis.Redis], T]) -> T:
        """``operation(client)``, or :class:`RedisDown` (at once while Redis is marked down;
        after the first error of an outage, which marks it down for ``retry_down_s``).

        ``what`` names the operation in the outage's WARNING.
        """
        import redis

        with self._lock:
            left = self._down_until - self._clock()
            if left > 0:
                raise RedisDown(f"Redis is down (tried again in {left:.1f}s)")
        try:
            result = operation(self._client_for_this_process())
        except (redis.RedisError, OSError) as exc:
            self._mark_down(what, exc)
            raise RedisDown(f"{what}: {type(exc).__name__}") from exc
        self._mark_up()
        return result

    def close(self) -> None:
        """Close this process's connections (a later :meth:`run` opens new ones)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None and self._pid == os.getpid():
            client.close()

    def describe(self) -> str:
        """Where Redis is, without credentials (for ``health`` and logs)."""
        return redact(self.settings.redis_url.get_secret_value())

    # --- internals ------------------------------------------------------------------------------

    def _client_for_this_process(self) -> redis.Redis:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = self._new_client()
                self._pid = os.getpid()
            return self._client

    def _new_client(self) -> redis.Redis:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        options: dict[str, Any] = {
            "socket_connect_timeout": self.settings.connect_timeout_s,
            "socket_timeout": self.settings.socket_timeout_s,
            "retry": Retry(NoBackoff(), 0),  # no retries: see the module docstring
            "retry_on_timeout": False,
            "health_check_interval": 0,
            "client_name": f"resilient-provider-{os.getpid()}",
        }
        return redis.Redis.from_url(self.settings.redis_url.get_secret_value(), **options)

    def _mark_down(self, what: str, exc: BaseException) -> None:
        with self._lock:
            now = self._clock()
            first = self._down_since is None
            if first:
                self._down_since = now
                self._outages += 1
            self._down_until = now + self.settings.retry_down_s
        if first:
            log.warning("Redis at %s is unavailable (%s: %s: %s): every worker part runs on "
                        "local state, trying Redis again every %gs", self.describe(), what,
                        type(exc).__name__, redact(str(exc)), self.settings.retry_down_s)
        else:
            log.debug("Redis still unavailable (%s: %s)", what, type(exc).__name__)

    def _mark_up(self) -> None:
        with self._lock:
            if self._down_since is None:
                return
            lasted = self._clock() - self._down_since
            self._down_since = None
            reconcilers = list(self._reconcilers)
        log.info("Redis at %s is back after %.1fs: reconciling local state", self.describe(),
                 lasted)
        for reconcile in reconcilers:
            try:
                reconcile()
            except RedisDown:
                return  # down again: the next return reconciles
            except Exception as exc:  # noqa: BLE001 - one reconciler must not stop the others
                log.warning("reconciling with Redis failed: %s: %s", type(exc).__name__, exc)
