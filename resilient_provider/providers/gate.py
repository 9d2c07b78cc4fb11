"""The seam between an adapter's HTTP session and the upstream budget that paces it.

Every HTTP request a built-in adapter's library sends (cookie, crumb, consent, quoteSummary,
v7 quote, timeseries) asks a :class:`RequestGate` first and reports its answer after, so the
budget counts requests, not symbols, and learns from each status. The strategy implements the
gate (``strategy.upstream.UpstreamBudget``); providers only call it, so they know nothing of
the strategy.

A provider that takes a gate has a ``bind_gate(gate)`` method and an ``upstream`` name; the
façade binds one gate per upstream to every such provider on it.
"""

from __future__ import annotations

import contextvars
from typing import Protocol


class TimeLeft(Protocol):
    """A request's deadline, as seen by whoever must not outlast it."""

    def remaining_s(self) -> float:
        """Seconds left, never negative."""
        ...


#: The deadline of the request being served on this thread or task (None: none). The strategy
#: sets it around a provider call; a gate never waits past it.
REQUEST_DEADLINE: contextvars.ContextVar[TimeLeft | None] = contextvars.ContextVar(
    "resilient_provider_request_deadline", default=None)


class Ticket(Protocol):
    """What a gate hands out for one request and gets back when it is answered."""


class RequestGate(Protocol):
    """Admits HTTP requests to one upstream and learns from their answers."""

    def admit(self, provider: str, route: str) -> Ticket:
        """Wait (within :data:`REQUEST_DEADLINE`) until a request may go out, and take it.

        Raises:
            ResilientProviderError: no permit before the deadline (``upstream_cooling`` while
                the upstream cools down, ``throttled`` otherwise).
        """
        ...

    def settle(self, ticket: Ticket, *, status: int | None,
               retry_after_s: float | None = None) -> None:
        """Report how the request of ``ticket`` was answered (None: no HTTP answer)."""
        ...
