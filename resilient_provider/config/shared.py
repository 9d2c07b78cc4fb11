"""Settings of fleet mode: state shared through Redis by every worker of a fleet.

Off by default; nothing changes until ``shared.enabled`` is true (and the ``redis`` extra is
installed). What each part does is in :mod:`resilient_provider.shared`.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from ..redaction import safe_repr
from .types import Duration, FrozenModel

#: The URL schemes redis-py connects with: TCP, TLS and a unix socket.
REDIS_SCHEMES = ("redis", "rediss", "unix")


class SharedSettings(FrozenModel):
    """Fleet mode: a cache, upstream budgets, breakers and single-flight shared through Redis.

    ``redis_url`` is a secret (it may hold a password): it is never logged, shown in a repr,
    an error or ``health``. The timeouts bound every Redis operation (redis-py's own retries
    are off), and the first failure marks Redis down for ``retry_down_s``, during which every
    part runs on local state; Redis is never needed to answer.
    """

    enabled: bool = False
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    key_prefix: str = Field(default="rp", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    connect_timeout_s: Duration = Field(default=0.25, gt=0, le=30)
    socket_timeout_s: Duration = Field(default=0.25, gt=0, le=30)
    retry_down_s: Duration = Field(default=5.0, gt=0, le=3600)
    #: The shared cache: "tier" over the local cache (writes to both, reads local first),
    #: "alone" (Redis only), or "off".
    cache: Literal["tier", "alone", "off"] = "tier"
    #: Upstream budgets (pacing, in-flight cap, 429 cool-downs) shared by the workers.
    budgets: bool = True
    #: Whose requests share one budget: the workers of this host (Yahoo limits per IP), or
    #: every worker of the fleet (one egress address).
    budget_scope: Literal["host", "fleet"] = "host"
    #: How many workers share a budget when Redis is down and each runs on a local share; 0:
    #: as many as were last seen alive.
    expected_workers: int = Field(default=0, ge=0, le=10_000)
    #: Circuit breakers shared by the workers: opened by one, open for all.
    breakers: bool = True
    #: A symbol being fetched by one worker is waited for by the others.
    single_flight: bool = True
    #: How long a worker's claim on a symbol lasts without renewal (it is renewed at each
    #: provider attempt); a dead worker's claim ends after it and a waiter takes over.
    lease_s: Duration = Field(default=5.0, gt=0, le=600)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: SecretStr) -> SecretStr:
        # The URL may hold a password: messages describe it, never show it.
        value = url.get_secret_value()
        schemes = ", ".join(s + "://" for s in REDIS_SCHEMES)
        if "://" not in value:
            raise ValueError(f"must be a {schemes} URL, got one without a scheme; did you mean "
                             "redis:// in front of it (redis://host:6379/0)?")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a port that is not 0 to 65535
        except ValueError:
            raise ValueError("must be a Redis URL with a port from 0 to 65535") from None
        if parts.scheme not in REDIS_SCHEMES:
            raise ValueError(f"must be a {schemes} URL, got scheme {safe_repr(parts.scheme)}")
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError(f"must name a host: {parts.scheme}://host:6379/0, got no host")
        if parts.scheme == "unix" and not parts.path:
            raise ValueError("must name the socket file: unix:///path/to/redis.sock, got no path")
        return url
