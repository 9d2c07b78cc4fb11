"""The HTTP session both built-in adapters hand their library: paced, capped, optionally rerouted.

Every request yfinance or yahooquery sends goes through :meth:`YahooSession.request`, the one
place that sees them all (the cookie, crumb and consent handshake included, which neither
library lets us wrap otherwise). There it

* asks the upstream's :class:`~.gate.RequestGate` for a slot and reports the answer's status
  and ``Retry-After`` back, so the budget counts and paces HTTP requests, not symbols;
* caps the request's timeout at ``timeout_s`` (yfinance hard-codes 30 s, yahooquery sends none);
* optionally sends Yahoo traffic to ``base_url`` instead (a mirror or the fake Yahoo).

A refused slot raises the gate's error (``upstream_cooling``, ``throttled``) out of ``request``
and keeps it for :meth:`YahooSession.take_refusal`: the libraries swallow many exceptions, so
the adapter asks afterwards whether a request of its call was refused, and reports that.
It must be a real ``curl_cffi.requests.Session`` subclass: yfinance checks ``isinstance``.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit, urlunsplit

from curl_cffi import requests as curl_requests

from ..errors import ResilientProviderError
from ..redaction import safe_repr
from .gate import RequestGate
from .yahoo_http import parse_retry_after, route_of_request

#: Header carrying the Yahoo host a rerouted request was meant for.
ORIGINAL_HOST_HEADER = "X-Fake-Yahoo-Host"


def is_yahoo_host(host: str | None) -> bool:
    """True for ``yahoo.com`` and its subdomains."""
    host = (host or "").lower()
    return host == "yahoo.com" or host.endswith(".yahoo.com")


def request_route(url: str) -> str:
    """The route a Yahoo URL addresses, for counting: ``cookie``, ``consent``, ``crumb``,
    ``quoteSummary``, ``quote``, ``timeseries``, ``chart`` or ``other``."""
    parts = urlsplit(url)
    return route_of_request((parts.hostname or "").lower(), parts.path, parse_qs(parts.query))[0]


def checked_base_url(base_url: str | None) -> SplitResult | None:
    """``base_url`` split, or None for none; ValueError naming it unless it is an http(s)
    URL with a host (adapters check it when built, not at their first request)."""
    if base_url is None:
        return None
    target = urlsplit(base_url) if isinstance(base_url, str) else None
    if target is None or target.scheme not in ("http", "https") or not target.netloc:
        raise ValueError("base_url must be an http(s) URL with a host, got "
                         f"{safe_repr(base_url, limit=200)}")
    return target


class YahooSession(curl_requests.Session):  # type: ignore[type-arg]
    """A curl_cffi Session whose requests pass an upstream gate, with a timeout cap and an
    optional other base URL.

    Args:
        base_url: where Yahoo requests go, e.g. ``"http://127.0.0.1:8765"``; None: to Yahoo.
        timeout_s: default and cap for every request's timeout; None leaves timeouts alone.
        gate: the upstream budget every request passes (:meth:`bind` sets it later).
        provider: the provider name the gate counts requests under.
        **session_kwargs: passed to ``curl_cffi.requests.Session`` (e.g. ``impersonate``).
    """

    def __init__(self, base_url: str | None = None, *, timeout_s: float | None = None,
                 gate: RequestGate | None = None, provider: str = "provider",
                 **session_kwargs: Any) -> None:
        target = checked_base_url(base_url)
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        super().__init__(**session_kwargs)
        self.base_url = base_url.rstrip("/") if base_url is not None else None
        self.timeout_s = timeout_s
        self.gate = gate
        self.provider = provider
        self._target = target
        self._refused = threading.local()

    def bind(self, gate: RequestGate | None, provider: str) -> None:
        """Pass every later request through ``gate``, counted under ``provider``."""
        self.gate, self.provider = gate, provider

    def take_refusal(self) -> ResilientProviderError | None:
        """The gate's refusal of a request on this thread since the last call, if any."""
        refusal: ResilientProviderError | None = getattr(self._refused, "error", None)
        self._refused.error = None
        return refusal

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send the request through the gate, rerouted when a base URL is set."""
        route = request_route(url)
        parts = urlsplit(url)
        if self._target is not None and is_yahoo_host(parts.hostname):
            url = urlunsplit((self._target.scheme, self._target.netloc,
                              parts.path or "/", parts.query, ""))
            headers = dict(kwargs.get("headers") or {})
            headers[ORIGINAL_HOST_HEADER] = parts.hostname or ""
            kwargs["headers"] = headers
        if self.timeout_s is not None:
            timeout = kwargs.get("timeout")
            if not isinstance(timeout, int | float) or timeout > self.timeout_s:
                kwargs["timeout"] = self.timeout_s
        gate = self.gate
        if gate is None:
            return super().request(method, url, *args, **kwargs)
        try:
            ticket = gate.admit(self.provider, route)
        except ResilientProviderError as refusal:
            self._refused.error = refusal
            raise
        status: int | None = None
        retry_after_s: float | None = None
        try:
            response = super().request(method, url, *args, **kwargs)
            status = int(response.status_code)
            retry_after_s = parse_retry_after(response.headers.get("Retry-After"))
            return response
        finally:
            gate.settle(ticket, status=status, retry_after_s=retry_after_s)
