"""How a request is answered: the engine, the cascade and the policies around each provider.

- :mod:`.engine`: read-through, shared walks in flight, batches (:mod:`.batch`: plan, split,
  run, assemble);
- :mod:`.cascade`: providers in order → fresh cache → stale cache → tagged error;
- :mod:`.freshness`: the one fresh / stale / too-old rule for cached entries;
- :mod:`.guarded`: one provider behind its :mod:`.breaker`, :mod:`.retry` policy,
  :mod:`.timeouts`, :mod:`.rate_limit` and data :mod:`.contract`;
- :mod:`.coalesce`: concurrent requests for one symbol share one walk.
"""

from .breaker import BreakerSnapshot, BreakerState, CircuitBreaker, Permit
from .cascade import Cascade
from .engine import Engine
from .guarded import GuardedProvider

__all__ = ["BreakerSnapshot", "BreakerState", "Cascade", "CircuitBreaker", "Engine",
           "GuardedProvider", "Permit"]
