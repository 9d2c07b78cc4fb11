"""``FakeYahooServer``: Yahoo Finance on 127.0.0.1 for the real yfinance and yahooquery.

It answers what the two libraries request for ticker info — the cookie/crumb handshake (and
yfinance's consent-form fallback), ``/v10/finance/quoteSummary/{SYM}``, ``/v7/finance/quote``
and ``/ws/fundamentals-timeseries/…`` — in Yahoo's real shapes, enforces the crumb like Yahoo
(401 ``Invalid Crumb``), logs every request, and injects faults per route and symbol. Clients
reach it through :class:`~resilient_provider.providers.routing.YahooRoutingSession`, which sends
``https://*.yahoo.com/…`` here and names the original host in a header.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from ...providers.routing import ORIGINAL_HOST_HEADER, YahooRoutingSession
from .answers import YahooResponder, classify
from .bodies import BodySource, YahooBodyGenerator
from .faults import Fault, FaultPlan, FaultRule


@dataclass(frozen=True)
class RequestRecord:
    """One request the server received, and what it did with it."""

    route: str
    method: str
    host: str
    path: str
    symbols: tuple[str, ...]
    status: int | None
    fault: str | None
    crumb_ok: bool


class FakeYahooServer:
    """Yahoo Finance on loopback, with deterministic bodies and injectable faults.

    Args:
        seed: seeds the body generator, the crumbs and the faults' probability rolls.
        latency_s: delay before every quoteSummary, quote and timeseries answer.
        unknown_symbols: symbols answered as Yahoo answers a symbol it does not know.
        bodies: where bodies come from (default: :class:`YahooBodyGenerator` of ``seed``).
        hang_limit_s: how long a ``Fault.hang()`` holds its connection at most.
    """

    def __init__(self, *, seed: int = 0, latency_s: float = 0.0,
                 unknown_symbols: Iterable[str] = (), bodies: BodySource | None = None,
                 hang_limit_s: float = 30.0) -> None:
        if latency_s < 0 or hang_limit_s <= 0:
            raise ValueError(f"latency_s must be >= 0 and hang_limit_s > 0, "
                             f"got {latency_s!r} and {hang_limit_s!r}")
        self.seed = seed
        self.latency_s = latency_s
        self.hang_limit_s = hang_limit_s
        self.responder = YahooResponder(
            seed, bodies if bodies is not None else YahooBodyGenerator(seed), unknown_symbols)
        self.faults = FaultPlan(seed)
        self._log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            return self
        handler = type("Handler", (_Handler,), {"yahoo": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._stopping.clear()
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-yahoo", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hung requests are released at once."""
        httpd, self._httpd = self._httpd, None
        self._stopping.set()
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if self._httpd is None:
            raise RuntimeError("FakeYahooServer is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def session(self, *, timeout_s: float | None = 5.0) -> YahooRoutingSession:
        """A new curl_cffi session whose Yahoo requests come here."""
        return YahooRoutingSession(self.base_url, timeout_s=timeout_s)

    # --- faults, crumbs, log -------------------------------------------------------------------

    def inject(self, fault: Fault, *, route: str | Iterable[str] = "any",
               symbols: Iterable[str] | None = None, times: int | None = None,
               probability: float = 1.0) -> FaultRule:
        """Apply ``fault`` to requests for ``route`` (and, if given, any of ``symbols``).

        Rules are tried in the order they were added; ``times`` limits how often this one
        applies, ``probability`` rolls on the server's seeded RNG.
        """
        return self.faults.add(fault, route=route, symbols=symbols, times=times,
                               probability=probability)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.faults.clear()

    @property
    def bodies(self) -> BodySource:
        """Where bodies come from (the generator's ``set_price`` is reachable here)."""
        bodies: BodySource = self.responder.bodies
        return bodies

    def expire_crumbs(self) -> None:
        """Make every crumb issued so far invalid (the next data request gets a 401)."""
        self.responder.expire_crumbs()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def count(self, route: str | None = None, symbol: str | None = None,
              status: int | None = None) -> int:
        """How many logged requests match every filter given."""
        wanted = symbol.upper() if symbol else None
        return sum(1 for r in self.requests
                   if (route is None or r.route == route)
                   and (wanted is None or wanted in r.symbols)
                   and (status is None or r.status == status))

    def reset_log(self) -> None:
        """Forget the requests logged so far."""
        with self._lock:
            self._log.clear()

    # --- answering -----------------------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)

class _Handler(BaseHTTPRequestHandler):
    """Turns one HTTP request into a :meth:`FakeYahooServer.answer` and logs it."""

    yahoo: FakeYahooServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """Disable Nagle: headers and body go out in two writes, and with delayed ACKs every
        keep-alive answer would otherwise wait ~40 ms."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the server keeps its own request log."""

    def do_GET(self) -> None:
        """Answer a GET."""
        self._serve("GET")

    def do_POST(self) -> None:
        """Answer a POST (the consent form)."""
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:  # yfinance sends a form body even with a GET; drain it for keep-alive
            self.rfile.read(length)
        yahoo = self.yahoo
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        host = (self.headers.get(ORIGINAL_HOST_HEADER) or "").lower()
        route, symbols = classify(host, parts.path, query)
        crumb_ok = yahoo.responder.crumb_valid(query)
        rule = yahoo.faults.pick(route, symbols)
        fault = rule.fault if rule is not None else None

        def record(status: int | None) -> None:
            yahoo._record(RequestRecord(route, method, host, parts.path, symbols, status,
                                        fault.kind if fault else None, crumb_ok))

        if fault is not None and fault.kind == "hang":
            record(None)
            yahoo._stopping.wait(yahoo.hang_limit_s)
            self.close_connection = True
            return
        if fault is not None and fault.kind == "connection_reset":
            record(None)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        delay = (fault.delay_s if fault is not None and fault.kind == "slow" else 0.0)
        if route in ("quoteSummary", "quote", "timeseries"):
            delay += yahoo.latency_s
        if delay:
            yahoo._stopping.wait(delay)
        answer = yahoo.responder.answer(route, host, symbols, query, fault, rule)
        record(answer.status)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)
