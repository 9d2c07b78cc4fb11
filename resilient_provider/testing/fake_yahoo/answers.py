"""What the fake Yahoo answers: routes, the crumb check, data bodies and fault bodies.

Kept apart from the HTTP plumbing in :mod:`.server`: a :class:`YahooResponder` turns (route,
symbols, query, fault) into an :class:`Answer` and knows nothing of sockets.
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from ...providers.yahoo_http import route_of_request
from .bodies import BodySource
from .chart import (
    NOT_FOUND_DESCRIPTION,
    ChartSource,
    YahooChartGenerator,
    chart_error,
    spoil_chart,
)
from .faults import JSON_CONTENT_TYPE, PER_SYMBOL_KINDS, Fault, FaultRule

JSON = JSON_CONTENT_TYPE
HTML = "text/html;charset=utf-8"
TEXT = "text/plain;charset=utf-8"
_ENVELOPE = {"quoteSummary": "quoteSummary", "quote": "quoteResponse", "timeseries": "timeseries",
             "chart": "chart"}
#: Routes whose request names one symbol in its path: a recorded body can stand in for it.
RECORDABLE_ROUTES = ("quoteSummary", "timeseries", "chart")
_CONSENT_FORM = ('<html><body><form method="post" action="https://consent.yahoo.com/v2/'
                 'collectConsent?sessionId={session}">'
                 '<input type="hidden" name="csrfToken" value="{token}">'
                 '<input type="hidden" name="sessionId" value="{session}">'
                 '<button name="agree" value="agree">Accept all</button></form></body></html>')
_STATUS_FAULTS = ("status", "rate_limited", "server_error", "invalid_crumb", "malformed_json")
_CRUMB_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./"


@dataclass(frozen=True)
class Answer:
    """One HTTP response, ready to send."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


def classify(host: str, path: str, query: dict[str, list[str]]) -> tuple[str, tuple[str, ...]]:
    """(route, symbols) of a request for ``host`` + ``path``; symbols URL-decoded, upper-case.

    Data routes are read exactly as the adapters read them; only the handshake pages are ours.
    """
    return route_of_request(host, path, query)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def error_envelope(route: str, code: str, description: str) -> dict[str, Any]:
    """Yahoo's error body for ``route`` (``{"quoteSummary": {"result": null, "error": …}}``)."""
    return {_ENVELOPE.get(route, "finance"): {"result": None,
                                              "error": {"code": code, "description": description}}}


def _words(query: dict[str, list[str]], name: str) -> list[str]:
    return [w for raw in query.get(name, []) for w in raw.split(",") if w]


def _int_param(query: dict[str, list[str]], name: str) -> int | None:
    try:
        return int(query[name][0])
    except (KeyError, IndexError, ValueError):
        return None


class YahooResponder:
    """Yahoo's answers for one fake server: bodies, unknown symbols and the crumbs it issued."""

    def __init__(self, seed: int, bodies: BodySource, unknown_symbols: Iterable[str],
                 charts: ChartSource | None = None) -> None:
        self.bodies = bodies
        self.charts: ChartSource = charts if charts is not None else YahooChartGenerator(seed)
        self._recorded: dict[tuple[str, str], Answer] = {}
        self.unknown_symbols = frozenset(s.upper() for s in unknown_symbols)
        self._crumb_rng = random.Random(f"crumbs:{seed}")
        self._crumbs: set[str] = set()
        self._lock = threading.Lock()

    def serve_recorded(self, route: str, symbol: str, answer: Answer | None) -> None:
        """Answer ``route`` for ``symbol`` with ``answer`` verbatim (None: generate again)."""
        if route not in RECORDABLE_ROUTES:
            raise ValueError(f"route must be one of {', '.join(RECORDABLE_ROUTES)}, "
                             f"got {route!r}")
        with self._lock:
            if answer is None:
                self._recorded.pop((route, symbol.upper()), None)
            else:
                self._recorded[(route, symbol.upper())] = answer

    def expire_crumbs(self) -> None:
        """Forget every crumb issued so far."""
        with self._lock:
            self._crumbs.clear()

    def issue_crumb(self) -> str:
        """A fresh 11-character crumb (like Yahoo's), remembered as valid."""
        with self._lock:
            crumb = "".join(self._crumb_rng.choice(_CRUMB_ALPHABET) for _ in range(11))
            self._crumbs.add(crumb)
        return crumb

    def crumb_valid(self, query: dict[str, list[str]]) -> bool:
        """Whether the request's ``crumb`` parameter is one this server issued and still honours."""
        with self._lock:
            return any(c in self._crumbs for c in query.get("crumb", []))

    def _token(self, bits: int) -> str:
        with self._lock:
            return f"{self._crumb_rng.getrandbits(bits):0{bits // 4}x}"

    def answer(self, route: str, path: str, symbols: tuple[str, ...],
               query: dict[str, list[str]], fault: Fault | None,
               rule: FaultRule | None) -> Answer:
        """The response for one request (after the fault's delay, if any)."""
        if fault is not None and fault.kind in _STATUS_FAULTS:
            return self._fault_answer(route, fault)
        if route == "cookie":
            return Answer(200, b"<html><body>ok</body></html>", HTML,
                          (("Set-Cookie", f"A3=d={self._token(64)}; Path=/; Max-Age=31557600"),))
        if route == "crumb":
            return Answer(200, self.issue_crumb().encode(), TEXT)
        if route == "consent":
            if path == "/consent":  # the form; collectConsent and copyConsent just say OK
                token, session = self._token(48), self._token(48)
                return Answer(200, _CONSENT_FORM.format(token=token, session=session).encode(),
                              HTML)
            return Answer(200, b"<html><body>consent recorded</body></html>", HTML)
        if route == "other":
            return Answer(404, _dumps(error_envelope(route, "Not Found", "HTTP 404 Not Found")))
        with self._lock:
            recorded = self._recorded.get((route, symbols[0] if symbols else ""))
        if recorded is not None:
            return recorded
        if route == "chart":  # Yahoo's chart needs no crumb
            return self._chart(symbols[0] if symbols else "", query, fault)
        if route in ("quoteSummary", "quote") and not self.crumb_valid(query):
            return self._fault_answer(route, Fault.invalid_crumb())
        if fault is not None and fault.kind == "garbage" and route in ("quoteSummary", "quote"):
            mode = str(fault.body)
            if mode == "wrong_symbol":
                return self._data(route, tuple(_other_symbol(s) for s in symbols), query,
                                  frozenset(), False)
            return spoil(self._data(route, symbols, query, frozenset(), False), mode)
        drop: frozenset[str] = frozenset()
        empty = False
        if fault is not None and fault.kind in PER_SYMBOL_KINDS and rule is not None:
            if route == "quote" or fault.kind == "not_found":
                drop = rule.symbols if rule.symbols is not None else frozenset(symbols)
            else:
                empty = True
        return self._data(route, symbols, query, drop, empty)

    def _data(self, route: str, symbols: tuple[str, ...], query: dict[str, list[str]],
              drop: frozenset[str], empty: bool) -> Answer:
        known = [s for s in symbols if s and s not in self.unknown_symbols and s not in drop]
        if route == "quote":
            if not symbols:
                return Answer(400, _dumps(error_envelope(
                    "finance", "Bad Request", "Missing required query parameter=symbols")))
            entries = [e for e in map(self.bodies.quote, known) if e]
            return Answer(200, _dumps({"quoteResponse": {"result": entries, "error": None}}))
        symbol = symbols[0]
        if route == "timeseries":
            types = _words(query, "type")
            if empty:
                return Answer(200, _dumps({"timeseries": {"result": [], "error": None}}))
            item = (self.bodies.timeseries(symbol, types, _int_param(query, "period1"),
                                           _int_param(query, "period2"))
                    if known else {"meta": {"symbol": [symbol], "type": types}})
            return Answer(200, _dumps({"timeseries": {"result": [item], "error": None}}))
        if empty:
            return Answer(200, _dumps({"quoteSummary": {"result": [], "error": None}}))
        modules = _words(query, "modules")
        found = self.bodies.quote_summary(symbol, modules) if known else None
        if found is None:
            return Answer(404, _dumps(error_envelope(
                route, "Not Found", f"Quote not found for symbol: {symbol}")))
        if not found:
            return Answer(404, _dumps(error_envelope(
                route, "Not Found",
                f"No fundamentals data found for any of the summaryTypes={','.join(modules)}")))
        return Answer(200, _dumps({"quoteSummary": {"result": [found], "error": None}}))

    def _chart(self, symbol: str, query: dict[str, list[str]], fault: Fault | None) -> Answer:
        kind = fault.kind if fault is not None else None
        if not symbol or symbol in self.unknown_symbols or kind == "not_found":
            return Answer(404, _dumps(chart_error("Not Found", NOT_FOUND_DESCRIPTION)))
        mode = str(fault.body) if fault is not None and kind == "garbage" else None
        asked = _other_symbol(symbol) if mode == "wrong_symbol" else symbol
        status, body = self.charts.chart(asked, query)
        if status == 200 and kind == "empty_result":
            result = body["chart"]["result"][0]
            body["chart"]["result"][0] = {"meta": result["meta"], "indicators": {"quote": [{}]}}
        if status == 200 and mode is not None and mode != "wrong_symbol":
            body = spoil_chart(body, mode)
        return Answer(status, _dumps(body))

    def _fault_answer(self, route: str, fault: Fault) -> Answer:
        if fault.kind == "invalid_crumb":
            body = _dumps(error_envelope("finance", "Unauthorized", "Invalid Crumb"))
            return Answer(401, body)
        if fault.kind == "malformed_json":
            return Answer(200, b'{"' + _ENVELOPE.get(route, "finance").encode()
                          + b'":{"result":[{"price":{"maxAge":1,"regularMarketPr')
        status = fault.http_status or 500
        if fault.body is None:
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            body = _dumps(error_envelope(route, phrase, f"HTTP {status} {phrase}"))
        elif isinstance(fault.body, dict):
            body = _dumps(fault.body)
        else:
            body = fault.body if isinstance(fault.body, bytes) else fault.body.encode()
        return Answer(status, body, fault.content_type, fault.headers)


#: The fields garbage modes spoil (v7 numbers, or quoteSummary ``{"raw": …, "fmt": …}``).
_PRICE_KEYS = frozenset({"regularMarketPrice", "currentPrice", "regularMarketPreviousClose"})


def _other_symbol(symbol: str) -> str:
    """Another valid symbol than ``symbol``, the same one every time."""
    return ("ZZ" + symbol)[:8] if not symbol.startswith("ZZ") else "YY" + symbol[2:]


def spoil(answer: Answer, mode: str) -> Answer:
    """``answer`` (a 200 data body) with its content spoiled as :meth:`Fault.garbage` says."""
    if answer.status != 200:
        return answer
    body = json.loads(answer.body)

    def price(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        return math.nan if mode == "nan_price" else -abs(value) or -1.0

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _PRICE_KEYS and isinstance(value, dict) and "raw" in value:
                out[key] = {**value, "raw": price(value["raw"])}
            elif key in _PRICE_KEYS:
                out[key] = price(value)
            else:
                out[key] = walk(value)
        return out

    if mode == "strings_for_dicts":
        for envelope in ("quoteSummary", "quoteResponse"):
            results = (body.get(envelope) or {}).get("result") or []
            for index, item in enumerate(results):
                symbol = item.get("symbol", "") if isinstance(item, dict) else ""
                results[index] = ({module: f"Quote not found for symbol: {symbol}"
                                   for module in item} if envelope == "quoteSummary"
                                  and isinstance(item, dict) else str(symbol or "garbage"))
    else:
        body = walk(body)
    return Answer(answer.status, json.dumps(body, separators=(",", ":")).encode(),
                  answer.content_type, answer.headers)
