"""Which library sent a request: yfinance 1.7 or yahooquery 2.4, told apart from the request.

Real Yahoo can single out one library by its browser fingerprint (TLS JA3/JA4, HTTP/2
settings, headers) or its crumb handling, and block it while the other works. Read from the two
libraries' source and checked against this server, what can tell them apart here:

* **Headers: not reliably.** The fingerprint Yahoo sees lives mostly in TLS, and the fake speaks
  plain HTTP. The headers depend on the session, not on the library: both default sessions
  impersonate Chrome (yfinance ``curl_cffi`` ``impersonate="chrome"``, whose User-Agent moves
  with curl_cffi's version; yahooquery one of twelve Chrome 99 to 131 profiles picked at random),
  and a session handed in — as our adapters' ``base_url`` routing does — sends the same bare
  headers for both (no User-Agent at all).
* **Query parameters: yes**, fixed in the libraries' code whatever the session.
  yahooquery adds ``lang``, ``region`` and ``corsDomain`` to every request and never
  ``symbol=`` on these routes; yfinance sends ``symbol=`` with quoteSummary and timeseries, and
  ``formatted`` without ``corsDomain`` on v7 quote. These decide the data routes.
* **Hosts of the handshake: mostly.** yfinance takes its cookie from ``fc.yahoo.com`` (or the
  ``guce.yahoo.com`` consent flow) and its crumb from ``query1``; yahooquery takes its cookie
  from ``finance.yahoo.com`` and its crumb from ``query2`` — where yfinance's fallback
  ("csrf") strategy asks too. So a crumb request is also judged by the A3 cookie it carries:
  the server remembers which library each cookie it set went to.

What fits none of these (a hand-written request, yahooquery's crumb with a session that skipped
the cookie page) is not attributed: a library-scoped fault never applies to it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

#: How many issued cookies the server remembers (yfinance takes a new one per request here).
_LEDGER_SIZE = 4096
_COOKIE = "A3"


@dataclass(frozen=True)
class _Signature:
    """A library's data request: the query parameters it always sends, and those it never does."""

    route: str
    library: str
    present: frozenset[str]
    absent: frozenset[str] = frozenset()


def _sig(route: str, library: str, present: str, absent: str = "") -> _Signature:
    return _Signature(route, library, frozenset(present.split()), frozenset(absent.split()))


_SIGNATURES = (
    # yfinance Quote._fetch_info: modules corsDomain formatted symbol lang region (+ crumb)
    _sig("quoteSummary", "yfinance", "modules corsDomain formatted symbol"),
    # yahooquery _quote_summary: modules formatted lang region corsDomain (+ crumb)
    _sig("quoteSummary", "yahooquery", "modules lang region corsDomain", "symbol"),
    # yfinance Quote._fetch_additional_info: symbols formatted lang region (+ crumb)
    _sig("quote", "yfinance", "symbols formatted lang region", "corsDomain"),
    # yahooquery quotes: lang region corsDomain symbols (+ crumb)
    _sig("quote", "yahooquery", "symbols lang region corsDomain", "formatted"),
    # yfinance _fetch_trailing_peg_ratio: symbol type period1 period2 (+ crumb)
    _sig("timeseries", "yfinance", "symbol type period1 period2", "corsDomain lang"),
    # yahooquery "fundamentals": period1 period2 type merge padTimeSeries lang region corsDomain
    _sig("timeseries", "yahooquery", "type lang region corsDomain"),
)

#: Handshake hosts only one library uses.
_HOSTS = {
    ("cookie", "fc.yahoo.com"): "yfinance",          # YfData._get_cookie_basic
    ("cookie", "finance.yahoo.com"): "yahooquery",   # setup_session's DEFAULT_SESSION_URL
    ("consent", "guce.yahoo.com"): "yfinance",       # YfData._get_cookie_csrf
    ("crumb", "query1.finance.yahoo.com"): "yfinance",  # yahooquery asks query2 only
}


def library_of_request(route: str, host: str, query: dict[str, list[str]]) -> str | None:
    """The library whose code sends a request like this one, judged from the request alone
    (its route, the Yahoo host it was meant for, its query parameters); None if it fits
    neither."""
    keys = set(query)
    for sig in _SIGNATURES:
        if sig.route == route and sig.present <= keys and not sig.absent & keys:
            return sig.library
    if route == "consent" and host == "consent.yahoo.com":
        # yfinance posts to collectConsent?sessionId=…; yahooquery sends the id in the form.
        return "yfinance" if "sessionId" in keys else "yahooquery"
    return _HOSTS.get((route, host))


def _cookies(header: str) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class LibraryIdentifier:
    """Tells a request's library from the request, then from the cookie it carries.

    Thread-safe; remembers the last few thousand cookies the server set.
    """

    def __init__(self) -> None:
        self._issued: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def identify(self, route: str, host: str, query: dict[str, list[str]],
                 cookie_header: str | None) -> str | None:
        """``"yfinance"``, ``"yahooquery"`` or None (see the module docstring for how)."""
        library = library_of_request(route, host, query)
        if library is not None or not cookie_header:
            return library
        value = _cookies(cookie_header).get(_COOKIE)
        if value is None:
            return None
        with self._lock:
            return self._issued.get(value)

    def learn(self, set_cookies: Iterable[str], library: str | None) -> None:
        """Remember that the A3 cookie in these ``Set-Cookie`` values went to ``library``."""
        if library is None:
            return
        for header in set_cookies:
            value = _cookies(header).get(_COOKIE)
            if value is None:
                continue
            with self._lock:
                self._issued[value] = library
                self._issued.move_to_end(value)
                while len(self._issued) > _LEDGER_SIZE:
                    self._issued.popitem(last=False)
