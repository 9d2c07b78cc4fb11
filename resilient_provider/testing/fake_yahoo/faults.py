"""Faults the fake Yahoo injects, and the rules that decide which request gets which.

A :class:`Fault` says what goes wrong (a 429, a hang, a truncated body…); a :class:`FaultRule`
says where (routes, symbols, the library that sent the request), how often (``times``) and how
likely (``probability``, rolled on the server's seeded RNG, so a given sequence of requests
always meets the same faults).
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Routes the fake Yahoo knows (``"any"`` in a rule matches them all).
ROUTES = ("cookie", "crumb", "consent", "quoteSummary", "quote", "timeseries", "chart", "other")

#: Routes that carry symbols and data (the others are the cookie/crumb handshake and 404s).
DATA_ROUTES = ("quoteSummary", "quote", "timeseries", "chart")

#: The ways :meth:`Fault.garbage` spoils a data body.
GARBAGE_MODES = ("nan_price", "negative_price", "wrong_symbol", "strings_for_dicts")

#: Faults that change what a symbol gets rather than failing the whole request; they apply to
#: data routes only.
PER_SYMBOL_KINDS = ("not_found", "empty_result")

JSON_CONTENT_TYPE = "application/json;charset=utf-8"

#: Yahoo's 429 body, plain text (also seen without the CRLF, and as ``Edge: Too Many Requests``).
RATE_LIMIT_BODY = "Too Many Requests\r\n"

#: The client libraries the fake Yahoo tells apart (see :mod:`.fingerprint`).
LIBRARIES = ("yfinance", "yahooquery")

Body = str | bytes | dict[str, Any]


def parse_routes(route: str | Iterable[str]) -> frozenset[str]:
    """``route`` (one name or several, ``"any"`` for all) as a set; ValueError naming an
    unknown one."""
    routes = frozenset([route] if isinstance(route, str) else route)
    unknown = sorted(routes - {*ROUTES, "any"})
    if unknown or not routes:
        raise ValueError(f"unknown route(s) {unknown or '(none)'}; known: any, "
                         + ", ".join(ROUTES))
    return routes


@dataclass(frozen=True)
class Fault:
    """One way for a Yahoo request to go wrong; build it with the classmethods.

    ``kind`` names it (``"status"``, ``"rate_limited"``, ``"server_error"``,
    ``"invalid_crumb"``, ``"not_found"``, ``"empty_result"``, ``"malformed_json"``,
    ``"garbage"`` (its mode in ``body``), ``"slow"``,
    ``"hang"``, ``"connection_reset"``); the server logs it in :class:`RequestRecord.fault`.
    """

    kind: str
    http_status: int | None = None
    body: Body | None = None
    content_type: str = JSON_CONTENT_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0

    @classmethod
    def status(cls, code: int, body: Body | None = None, *,
               content_type: str = JSON_CONTENT_TYPE,
               headers: Mapping[str, str] | None = None) -> Fault:
        """Answer with HTTP ``code`` and ``body`` (default: the route's Yahoo error envelope).

        A dict body is sent as JSON; str and bytes as they are.
        """
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise ValueError(f"HTTP status must be an int in 100..599, got {code!r}")
        return cls("status", code, body, content_type, tuple((headers or {}).items()))

    @classmethod
    def status_code(cls, code: int, body: Body | None = None, *,
                    content_type: str = JSON_CONTENT_TYPE,
                    headers: Mapping[str, str] | None = None) -> Fault:
        """Same as :meth:`status` (the name earlier versions used)."""
        return cls.status(code, body, content_type=content_type, headers=headers)

    @classmethod
    def rate_limited(cls, retry_after_s: float | None = None) -> Fault:
        """HTTP 429 with Yahoo's plain-text body and, if given, a ``Retry-After`` header."""
        if retry_after_s is not None and retry_after_s < 0:
            raise ValueError(f"retry_after_s must be >= 0, got {retry_after_s!r}")
        headers = () if retry_after_s is None else (
            ("Retry-After", str(math.ceil(retry_after_s))),)
        return cls("rate_limited", 429, RATE_LIMIT_BODY, "text/plain;charset=utf-8", headers)

    @classmethod
    def server_error(cls, code: int = 500, body: Body | None = None) -> Fault:
        """A 5xx with the route's JSON error envelope (or ``body``)."""
        if isinstance(code, bool) or not isinstance(code, int) or not 500 <= code <= 599:
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
    def garbage(cls, mode: str) -> Fault:
        """HTTP 200 with a well-formed Yahoo body whose content is garbage, on the data routes
        (quoteSummary, v7 quote): ``mode`` is one of :data:`GARBAGE_MODES`:

        * ``"nan_price"``: the price fields are ``NaN`` (a JSON ``NaN`` literal);
        * ``"negative_price"``: the price fields are negative;
        * ``"wrong_symbol"``: the data of another symbol;
        * ``"strings_for_dicts"``: strings where modules and quote entries should be objects
          (what yahooquery passes on as ``'Quote not found for symbol: X'``).

        Truncated JSON is :meth:`malformed_json`.
        """
        if mode not in GARBAGE_MODES:
            raise ValueError(f"garbage mode must be one of {', '.join(GARBAGE_MODES)}, "
                             f"got {mode!r}")
        return cls("garbage", 200, mode)

    @classmethod
    def slow(cls, delay_s: float) -> Fault:
        """Answer normally after ``delay_s`` seconds (released early when the server stops)."""
        if not delay_s >= 0 or math.isinf(delay_s):
            raise ValueError(f"delay_s must be >= 0, got {delay_s!r}")
        return cls("slow", delay_s=delay_s)

    @classmethod
    def hang(cls) -> Fault:
        """Never answer: hold the connection, then close it without a response.

        The connection is held until the server stops or its ``hang_limit_s`` passes. Give the
        client a shorter timeout: libcurl retries, on a new connection, a request whose reused
        connection closes without a response.
        """
        return cls("hang")

    @classmethod
    def connection_reset(cls) -> Fault:
        """Close the connection with a TCP reset (``SO_LINGER`` 0) instead of answering.

        On a fresh connection nothing is sent first. On a reused keep-alive connection the
        status line goes out before the reset: libcurl would otherwise retry the request on a
        new connection without telling the caller, and the fault would go unseen.
        """
        return cls("connection_reset")


@dataclass(eq=False)  # identity: two rules with the same settings are still two rules
class FaultRule:
    """Where and how often a fault applies; ``remove()`` takes it off its server.

    ``times`` counts down as the rule is applied (None: unlimited); ``library`` (None: any)
    limits it to requests the server takes for that library's.
    """

    fault: Fault
    routes: frozenset[str]
    symbols: frozenset[str] | None
    times: int | None
    probability: float
    _plan: FaultPlan | None = field(default=None, repr=False)
    library: str | None = None

    def matches(self, route: str, symbols: tuple[str, ...], library: str | None = None) -> bool:
        """Whether a request to ``route`` for ``symbols``, sent by ``library``, is in scope.

        A symbols filter matches a request for any of its symbols (handshake routes carry none,
        so only rules without a filter reach them); per-symbol faults (``not_found``,
        ``empty_result``) only ever match data routes; a library filter never matches a request
        whose library the server could not tell.
        """
        if "any" not in self.routes and route not in self.routes:
            return False
        if self.fault.kind in PER_SYMBOL_KINDS and route not in DATA_ROUTES:
            return False
        if self.library is not None and library != self.library:
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
            probability: float = 1.0, library: str | None = None) -> FaultRule:
        """Add a rule; see :meth:`FakeYahooServer.inject`."""
        if not isinstance(fault, Fault):
            raise TypeError(f"fault must be a Fault (use Fault.status(...) etc.), got {fault!r}")
        routes = parse_routes(route)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {probability!r}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)
                                  or times < 1):
            raise ValueError(f"times must be an int >= 1 or None, got {times!r}")
        if isinstance(symbols, str):  # "AAPL" would otherwise mean {"A", "P", "L"}
            symbols = [symbols]
        wanted = None if symbols is None else frozenset(s.upper() for s in symbols)
        if wanted is not None and not wanted:
            raise ValueError(f"symbols must name at least one symbol (or be None), "
                             f"got {symbols!r}")
        if library is not None and library not in LIBRARIES:
            raise ValueError(f"library must be one of {', '.join(LIBRARIES)} or None, "
                             f"got {library!r}")
        rule = FaultRule(fault, routes, wanted, times, probability, self, library)
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

    def pick(self, route: str, symbols: tuple[str, ...],
             library: str | None = None) -> FaultRule | None:
        """The first matching rule whose roll succeeds, its ``times`` counted down."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(route, symbols, library):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                return rule
        return None
