"""What Yahoo said over HTTP, recorded per call and translated into the error taxonomy.

Neither library reports HTTP failures faithfully: yfinance swallows quoteSummary and v7 errors
(``hide_exceptions``) and hands back a near-empty dict; yahooquery never looks at the status and
turns a 429's text body into ``{"error": "HTTP 404 Not Found"}``. So both adapters record every
data response (route, symbols, status, ``Retry-After``, Yahoo's error description) in a
:class:`Transcript` while the library runs, and classify from that record plus whatever the
library returned or raised. This module is the one place that knows Yahoo's status codes, error
envelopes and the transport exceptions of curl_cffi and requests.
"""

from __future__ import annotations

import email.utils
import json
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import (
    AuthenticationError,
    DataContractError,
    NetworkError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    ResilientProviderError,
    ServerError,
    SymbolNotFoundError,
)

#: Data routes whose failure decides an answer (the handshake and timeseries routes do not).
DATA_ROUTES = ("quoteSummary", "quote")

_MAX_DESCRIPTION = 200


@dataclass(frozen=True)
class Exchange:
    """One HTTP answer from Yahoo, reduced to what classification needs (no secrets kept)."""

    route: str
    symbols: tuple[str, ...]
    status: int
    retry_after_s: float | None = None
    description: str | None = None
    json_ok: bool = True
    #: For the v7 quote route: symbol -> the keys its entry carried (units differ from modules).
    quote_keys: dict[str, frozenset[str]] = field(default_factory=dict)
    #: For quoteSummary: the symbols its modules say they describe (``price``/``quoteType``).
    #: yfinance stamps the symbol it asked for over the answer's own, so it is read here.
    answered_for: frozenset[str] = frozenset()


def route_of(url: str) -> tuple[str, tuple[str, ...]]:
    """The Yahoo route a URL addresses and the symbols it asks for."""
    parts = urlsplit(url)
    return route_of_path(parts.path, parse_qs(parts.query))


def route_of_path(path: str, query: dict[str, list[str]]) -> tuple[str, tuple[str, ...]]:
    """The data route (``quoteSummary``, ``quote``, ``timeseries``, ``chart``; or ``crumb`` /
    ``other``) of ``path``; symbols URL-decoded, upper-case.

    Shared with the fake Yahoo, so the adapters and the server read requests the same way.
    """
    if "/v10/finance/quoteSummary/" in path:
        return "quoteSummary", (unquote(path.rsplit("/", 1)[-1]).upper(),)
    if path.rstrip("/").endswith("/v7/finance/quote"):
        raw = ",".join(query.get("symbols", []))
        return "quote", tuple(s.strip().upper() for s in raw.split(",") if s.strip())
    if "/fundamentals-timeseries/" in path:
        return "timeseries", (unquote(path.rsplit("/", 1)[-1]).upper(),)
    if "/v8/finance/chart/" in path:
        return "chart", (unquote(path.rsplit("/", 1)[-1]).upper(),)
    if path.endswith("/getcrumb"):
        return "crumb", ()
    return "other", ()


def route_of_request(host: str, path: str,
                     query: dict[str, list[str]]) -> tuple[str, tuple[str, ...]]:
    """(route, symbols) of a request to Yahoo's ``host`` + ``path``: the data routes as
    :func:`route_of_path` reads them, plus the handshake pages (``cookie``, ``consent``).

    Shared by the adapters' session (to count requests by route) and the fake Yahoo (to answer
    them), so both count the same request the same way.
    """
    route, symbols = route_of_path(path, query)
    if route != "other":
        return route, symbols
    if path in ("/consent", "/v2/collectConsent", "/copyConsent"):
        return "consent", ()
    if path in ("/", "") and host in ("fc.yahoo.com", "finance.yahoo.com", "yahoo.com", ""):
        return "cookie", ()
    return "other", ()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _description(body: Any) -> str | None:
    """Yahoo's error description from any of its JSON envelopes."""
    if not isinstance(body, dict):
        return None
    for envelope in body.values():
        if isinstance(envelope, dict) and isinstance(envelope.get("error"), dict):
            error = envelope["error"]
            text = error.get("description") or error.get("code")
            return str(text)[:_MAX_DESCRIPTION] if text else None
    return None


def _quote_keys(body: Any) -> dict[str, frozenset[str]]:
    result = (body.get("quoteResponse") or {}).get("result") if isinstance(body, dict) else None
    if not isinstance(result, list):
        return {}
    return {str(entry["symbol"]).upper(): frozenset(entry) for entry in result
            if isinstance(entry, dict) and entry.get("symbol")}


def exchange_from_response(response: Any) -> Exchange:
    """Record a curl_cffi or requests response (status, Retry-After, error description)."""
    route, symbols = route_of(str(response.url))
    status = int(response.status_code)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if route not in (*DATA_ROUTES, "timeseries", "chart", "crumb"):
        return Exchange(route, symbols, status, retry_after)
    text = response.text or ""
    try:
        body = json.loads(text)
    except ValueError:
        stripped = " ".join(text.split())[:_MAX_DESCRIPTION]
        # The crumb is plain text by design; only a data route must be JSON.
        json_ok = route == "crumb" or status >= 400
        return Exchange(route, symbols, status, retry_after, stripped or None, json_ok=json_ok)
    keys = _quote_keys(body) if route == "quote" else {}
    answered_for = _summary_symbols(body) if route == "quoteSummary" else frozenset()
    return Exchange(route, symbols, status, retry_after, _description(body), True, keys,
                    answered_for)


def _summary_symbols(body: Any) -> frozenset[str]:
    envelope = body.get("quoteSummary") if isinstance(body, dict) else None
    result = envelope.get("result") if isinstance(envelope, dict) else None
    found: set[str] = set()
    for item in result if isinstance(result, list) else []:
        for module in ("price", "quoteType"):
            part = item.get(module) if isinstance(item, dict) else None
            named = part.get("symbol") if isinstance(part, dict) else None
            if isinstance(named, str) and named:
                found.add(named.upper())
    return frozenset(found)


class Transcript:
    """The exchanges of one adapter call, in order; safe to add to from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []

    def add(self, exchange: Exchange) -> None:
        """Record one exchange."""
        with self._lock:
            self._exchanges.append(exchange)

    def exchanges(self) -> tuple[Exchange, ...]:
        """Every exchange so far, oldest first."""
        with self._lock:
            return tuple(self._exchanges)

    def final(self, symbol: str) -> list[Exchange]:
        """The last exchange per data route that concerned ``symbol`` (a library's own retry
        supersedes the answer it retried)."""
        with self._lock:
            exchanges = list(self._exchanges)
        last: dict[str, Exchange] = {}
        for exchange in exchanges:
            if exchange.route in DATA_ROUTES and symbol in exchange.symbols:
                last[exchange.route] = exchange
        return list(last.values())

    def last_rate_limit(self) -> Exchange | None:
        """The most recent 429 of this call, on any route."""
        with self._lock:
            return next((e for e in reversed(self._exchanges) if e.status == 429), None)

    def quote_keys(self, symbol: str) -> frozenset[str]:
        """The keys the v7 quote entry for ``symbol`` carried (empty when none was seen)."""
        with self._lock:
            for exchange in reversed(self._exchanges):
                if symbol in exchange.quote_keys:
                    return exchange.quote_keys[symbol]
        return frozenset()


def is_not_found(description: str | None) -> bool:
    """Yahoo's words for "no such symbol" (not "this module does not exist for it")."""
    text = (description or "").lower()
    return "not found" in text and "fundamentals" not in text


def error_from_exchange(
    exchange: Exchange, *, symbol: str, provider: str
) -> ResilientProviderError | None:
    """The failure an exchange shows, or None when it is usable (or just a missing module)."""
    where = f"HTTP {exchange.status} from {exchange.route}"
    detail = f": {exchange.description}" if exchange.description else ""
    status = exchange.status
    if status == 429:
        return RateLimitError(f"{where} (rate limited)", retry_after=exchange.retry_after_s,
                              symbol=symbol, provider=provider)
    if status in (401, 403):
        return AuthenticationError(where + detail, symbol=symbol, provider=provider)
    if status >= 500:
        return ServerError(where + detail, status=status, symbol=symbol, provider=provider)
    if status == 404 and is_not_found(exchange.description):
        return SymbolNotFoundError(f"Yahoo does not know {symbol!r}{detail}",
                                   symbol=symbol, provider=provider)
    if status >= 400 and "fundamentals" not in (exchange.description or "").lower():
        return ProviderUnavailableError(where + detail, symbol=symbol, provider=provider)
    if not exchange.json_ok:
        return DataContractError(f"malformed JSON from {exchange.route}",
                                 symbol=symbol, provider=provider)
    # Another symbol's data (yfinance would stamp ours on it, so the answer cannot tell).
    other = (exchange.answered_for if exchange.route == "quoteSummary"
             else frozenset(exchange.quote_keys) if exchange.symbols == (symbol,)
             else frozenset())
    if other and symbol not in other:
        return DataContractError(
            f"{exchange.route} answered for {', '.join(sorted(other))[:40]}, not {symbol!r}",
            symbol=symbol, provider=provider)
    return None


def first_failure(
    exchanges: Iterable[Exchange], *, symbol: str, provider: str
) -> ResilientProviderError | None:
    """The most telling failure among a symbol's final exchanges.

    Provider-health failures (429, 401, 5xx, bad JSON) win over "not found": a symbol that one
    route calls unknown while another is failing is not proven unknown.
    """
    errors = [e for e in (error_from_exchange(x, symbol=symbol, provider=provider)
                          for x in exchanges) if e is not None]
    health = [e for e in errors if e.counts_against_provider]
    ranked = health or errors
    return ranked[0] if ranked else None


def _transport_classes() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeout classes, connection classes) of whichever HTTP stacks are installed."""
    timeouts: list[type[BaseException]] = [TimeoutError]
    connections: list[type[BaseException]] = [ConnectionError]
    try:
        from curl_cffi.requests import exceptions as curl_exc

        timeouts.append(curl_exc.Timeout)
        connections.append(curl_exc.RequestException)
    except ImportError:  # pragma: no cover - curl_cffi comes with both libraries
        pass
    try:
        from requests import exceptions as req_exc

        timeouts.append(req_exc.Timeout)
        connections.extend([req_exc.ConnectionError, req_exc.ChunkedEncodingError])
    except ImportError:  # pragma: no cover
        pass
    return tuple(timeouts), tuple(connections)


_TIMEOUTS, _CONNECTIONS = _transport_classes()


def error_from_exception(
    exc: BaseException, *, symbol: str | None, provider: str
) -> ResilientProviderError:
    """Translate a library or transport exception into the taxonomy (the cause is kept)."""
    if isinstance(exc, ResilientProviderError):
        return exc
    name = type(exc).__name__
    error: ResilientProviderError
    if isinstance(exc, _TIMEOUTS):
        error = ProviderTimeoutError(f"Yahoo did not answer in time ({name})",
                                     symbol=symbol, provider=provider)
    elif isinstance(exc, ValueError):  # json.JSONDecodeError and the libraries' subclasses
        error = DataContractError(f"malformed JSON from Yahoo ({name}: {str(exc)[:120]})",
                                  symbol=symbol, provider=provider)
    elif isinstance(exc, _CONNECTIONS):
        error = NetworkError(f"cannot reach Yahoo ({name}: {str(exc)[:160]})",
                             symbol=symbol, provider=provider)
    else:
        error = ProviderUnavailableError(f"{name}: {str(exc)[:160]}",
                                         symbol=symbol, provider=provider)
    error.__cause__ = exc
    return error
