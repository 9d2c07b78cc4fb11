"""The cascade and the policies around each provider: breaker, retries, timeouts, contract."""

from .breaker import BreakerSnapshot, BreakerState, CircuitBreaker, Permit
from .cascade import Cascade
from .guarded import GuardedProvider

__all__ = ["BreakerSnapshot", "BreakerState", "Cascade", "CircuitBreaker", "GuardedProvider",
           "Permit"]
