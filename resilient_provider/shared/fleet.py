"""The parts of fleet mode a façade uses, built from ``shared`` settings on one Redis link.

The façade asks :func:`open_fleet` once; None means fleet mode is off and nothing changes.
Otherwise :class:`Fleet` hands it the shared versions of what it would build anyway: the cache
(a tier over the local one, or Redis alone), each upstream's budget, each provider's breaker,
and the walk of the chain that claims symbols fleet-wide. Each part falls back to local state
while Redis is down (see :mod:`.link`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import partial
from typing import Any

from ..cache import CacheBackend
from ..config import ProviderPolicy, Settings
from ..errors import ConfigError
from ..strategy.breaker import Breaker
from ..strategy.budgets import MakeBudget
from ..strategy.upstream import UpstreamBudget
from .link import RedisLink

#: What to install for fleet mode.
INSTALL = 'pip install "resilient-provider[redis]"'


def open_fleet(settings: Settings) -> Fleet | None:
    """The fleet-mode parts for ``settings``; None when ``shared.enabled`` is off.

    Raises:
        ConfigError: fleet mode is on but the ``redis`` package is not installed.
    """
    if not settings.shared.enabled:
        return None
    if importlib.util.find_spec("redis") is None:
        raise ConfigError(f"shared.enabled is true but the redis package is missing: {INSTALL}")
    return Fleet(settings)


class Fleet:
    """One worker's fleet-mode parts on one :class:`~.link.RedisLink` (see the module doc)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.shared = settings.shared
        self.link = RedisLink(settings.shared)
        self._flight: Any = None

    def cache(self, local: Callable[[], CacheBackend], *,
              clock: Callable[[], float]) -> CacheBackend:
        """The façade's cache under ``shared.cache``: a tier of Redis over ``local()`` (the
        cache it would open), Redis alone, or ``local()`` itself when off."""
        mode = self.shared.cache
        if mode == "off":
            return local()
        from .cache import RedisCache

        cache_settings = self.settings.cache
        shared = RedisCache(self.link, ttl_s=cache_settings.max_stale_age)
        if mode == "alone":
            return shared
        from .tiered_cache import TieredCache

        return TieredCache(local(), shared, recheck_after_s=cache_settings.fresh_for,
                           clock=clock)

    def budget_maker(self) -> MakeBudget:
        """How the façade builds each upstream's budget: shared by the fleet under
        ``shared.budgets``, else local."""
        if not self.shared.budgets:
            return UpstreamBudget
        from .budget import SharedUpstreamBudget

        return partial(SharedUpstreamBudget, link=self.link)

    def breaker(self, name: str, policy: ProviderPolicy, *,
                clock: Callable[[], float]) -> Breaker | None:
        """Provider ``name``'s breaker shared by the fleet, or None when ``shared.breakers``
        is off (the provider then keeps a breaker of its own)."""
        if not self.shared.breakers:
            return None
        from ..strategy.breaker import log_recovery
        from .breaker import SharedBreaker

        return SharedBreaker(name, policy.breaker, link=self.link, clock=clock,
                             trial_timeout_s=policy.timeout_s, listeners=(log_recovery,))

    def walk(self) -> Any:
        """The engine's fleet walk maker (:data:`~resilient_provider.strategy.engine.FleetWalk`),
        or None when ``shared.single_flight`` is off."""
        if not self.shared.single_flight:
            return None
        from .single_flight import FleetSingleFlight, walk_once_per_fleet

        self._flight = flight = FleetSingleFlight(self.link, lease_s=self.shared.lease_s)
        # A waiter waits for another worker's walk at most a third of the deadline, then walks
        # itself: a lease left by a dead worker ends within lease_s, well before that.
        wait_s = max(self.shared.lease_s + 0.5, self.settings.deadline_s / 3)

        def make(walk: Any, serve_fresh: Any) -> Any:
            return walk_once_per_fleet(walk, serve_fresh, flight, wait_s=wait_s)

        return make

    def figures(self) -> dict[str, Any]:
        """What fleet mode did, for the statistics and ``health``."""
        flight = self._flight
        return {"redis": self.link.describe(), "redis_up": self.link.up,
                "redis_outages": self.link.outages,
                "answered_by_other_workers": flight.waited if flight is not None else 0,
                "taken_over": flight.taken_over if flight is not None else 0}

    def close(self) -> None:
        """Stop renewing leases and close this process's Redis connections."""
        if self._flight is not None:
            self._flight.close()
        self.link.close()
