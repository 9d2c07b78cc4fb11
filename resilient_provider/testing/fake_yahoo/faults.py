"""Faults the fake Yahoo injects, and the rules that decide which request gets which.

A :class:`Fault` says what goes wrong (a 429, a hang, a truncated body…); a :class:`FaultRule`
says where (routes, symbols), how often (``times``) and how likely (``probability``, rolled on
the server's seeded RNG, so a given sequence of requests always meets the same faults).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Routes the fake Yahoo knows (``"any"`` in a rule matches them all).
ROUTES = ("cookie", "crumb", "consent", "quoteSummary", "quote", "timeseries", "other")

#: Faults that change what a symbol gets rather than failing the whole request.
PER_SYMBOL_KINDS = ("not_found", "empty_result")


@dataclass(frozen=True)
class Fault:
    """One way for a Yahoo request to go wrong; build it with the classmethods."""

    kind: str
    status: int | None = None
    body: str | bytes | dict[str, Any] | None = None
    content_type: str = "application/json;charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0

    @classmethod
    def status_code(cls, code: int, body: str | bytes | dict[str, Any] | None = None, *,
                    content_type: str = "application/json;charset=utf-8",
                    headers: dict[str, str] | None = None) -> Fault:
        """Answer with ``code`` and ``body`` (default: the route's Yahoo error envelope)."""
        if not 100 <= code <= 599:
            raise ValueError(f"HTTP status must be 100..599, got {code!r}")
        return cls("status", code, body, content_type, tuple((headers or {}).items()))

    @classmethod
    def rate_limited(cls, retry_after_s: float | None = None) -> Fault:
        """HTTP 429 with Yahoo's plain-text body and, if given, a ``Retry-After`` header."""
        if retry_after_s is not None and retry_after_s < 0:
            raise ValueError(f"retry_after_s must be >= 0, got {retry_after_s!r}")
        headers = () if retry_after_s is None else (("Retry-After", str(round(retry_after_s))),)
        return cls("rate_limited", 429, "Too Many Requests\r\n", "text/plain;charset=utf-8",
                   headers)

    @classmethod
    def server_error(cls, code: int = 500, body: str | dict[str, Any] | None = None) -> Fault:
        """A 5xx with the route's JSON error envelope (or ``body``)."""
        if not 500 <= code <= 599:
            raise ValueError(f"server_error needs a 5xx status, got {code!r}")
        return cls("server_error", code, body)

    @classmethod
    def invalid_crumb(cls) -> Fault:
        """HTTP 401 ``Invalid Crumb``, Yahoo's answer to a missing or stale crumb."""
        return cls("invalid_crumb", 401)

    @classmethod
    def not_found(cls) -> Fault:
        """What an unknown symbol gets on the route (404 envelope, or left out of v7)."""
        return cls("not_found")

    @classmethod
    def empty_result(cls) -> Fault:
        """HTTP 200 with an empty result list (or the symbols left out of v7)."""
        return cls("empty_result")

    @classmethod
    def malformed_json(cls) -> Fault:
        """HTTP 200 ``application/json`` whose body is cut off mid-object."""
        return cls("malformed_json", 200)

    @classmethod
    def slow(cls, delay_s: float) -> Fault:
        """Answer normally after ``delay_s`` seconds."""
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s!r}")
        return cls("slow", delay_s=delay_s)

    @classmethod
    def hang(cls) -> Fault:
        """Never answer; hold the connection until the server stops (or its hang limit)."""
        return cls("hang")

    @classmethod
    def connection_reset(cls) -> Fault:
        """Close the connection with a TCP reset before any response."""
        return cls("connection_reset")


@dataclass
class FaultRule:
    """Where and how often a fault applies; ``remove()`` takes it off its server."""

    fault: Fault
    routes: frozenset[str]
    symbols: frozenset[str] | None
    times: int | None
    probability: float
    _plan: FaultPlan | None = field(default=None, repr=False)

    def matches(self, route: str, symbols: tuple[str, ...]) -> bool:
        """Whether a request to ``route`` for ``symbols`` is in this rule's scope."""
        if "any" not in self.routes and route not in self.routes:
            return False
        return self.symbols is None or any(s in self.symbols for s in symbols)

    def remove(self) -> None:
        """Stop applying this rule."""
        if self._plan is not None:
            self._plan.remove(self)


class FaultPlan:
    """The server's rules in insertion order; thread-safe, rolls on a seeded RNG."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"faults:{seed}")
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault, *, route: str | Iterable[str] = "any",
            symbols: Iterable[str] | None = None, times: int | None = None,
            probability: float = 1.0) -> FaultRule:
        """Add a rule; see :meth:`FakeYahooServer.inject`."""
        routes = frozenset([route] if isinstance(route, str) else route)
        unknown = sorted(routes - {*ROUTES, "any"})
        if unknown or not routes:
            raise ValueError(f"unknown route(s) {unknown or '(none)'}; known: any, "
                             + ", ".join(ROUTES))
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {probability!r}")
        if times is not None and times < 1:
            raise ValueError(f"times must be >= 1 or None, got {times!r}")
        wanted = None if symbols is None else frozenset(s.upper() for s in symbols)
        rule = FaultRule(fault, routes, wanted, times, probability, self)
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Drop ``rule`` (no error if it is already gone)."""
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        """Drop every rule."""
        with self._lock:
            self._rules.clear()

    def pick(self, route: str, symbols: tuple[str, ...]) -> FaultRule | None:
        """The first matching rule whose roll succeeds, its ``times`` counted down."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(route, symbols):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                return rule
        return None
