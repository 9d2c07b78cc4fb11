"""A curl_cffi session that sends Yahoo traffic to another base URL (a mirror or a fake Yahoo).

Both libraries build Yahoo URLs themselves (``https://query2.finance.yahoo.com/...``), so the
session is the one seam that redirects them: it must be a real ``curl_cffi.requests.Session``
subclass because yfinance checks ``isinstance``. It also caps every request's timeout at
``timeout_s`` (yfinance hard-codes 30 s) and adds one when the caller passed none (yahooquery
never does).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from curl_cffi import requests as curl_requests

#: Header carrying the Yahoo host a rerouted request was meant for.
ORIGINAL_HOST_HEADER = "X-Fake-Yahoo-Host"


def is_yahoo_host(host: str | None) -> bool:
    """True for ``yahoo.com`` and its subdomains."""
    host = (host or "").lower()
    return host == "yahoo.com" or host.endswith(".yahoo.com")


class YahooRoutingSession(curl_requests.Session):  # type: ignore[type-arg]
    """A curl_cffi Session whose Yahoo requests go to ``base_url`` instead.

    Args:
        base_url: where Yahoo requests go, e.g. ``"http://127.0.0.1:8765"``.
        timeout_s: default and cap for every request's timeout; None leaves timeouts alone.
        **session_kwargs: passed to ``curl_cffi.requests.Session``.
    """

    def __init__(self, base_url: str, *, timeout_s: float | None = None,
                 **session_kwargs: Any) -> None:
        target = urlsplit(base_url)
        if target.scheme not in ("http", "https") or not target.netloc:
            raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        super().__init__(**session_kwargs)
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._target = target

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send the request, rewritten to ``base_url`` when it is meant for Yahoo."""
        parts = urlsplit(url)
        if is_yahoo_host(parts.hostname):
            url = urlunsplit((self._target.scheme, self._target.netloc,
                              parts.path or "/", parts.query, ""))
            headers = dict(kwargs.get("headers") or {})
            headers[ORIGINAL_HOST_HEADER] = parts.hostname or ""
            kwargs["headers"] = headers
        if self.timeout_s is not None:
            timeout = kwargs.get("timeout")
            if not isinstance(timeout, int | float) or timeout > self.timeout_s:
                kwargs["timeout"] = self.timeout_s
        return super().request(method, url, *args, **kwargs)
