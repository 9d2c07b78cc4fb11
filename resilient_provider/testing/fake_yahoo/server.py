"""``FakeYahooServer``: Yahoo Finance on 127.0.0.1 for the real yfinance and yahooquery.

It answers what the two libraries request for ticker info — the cookie/crumb handshake (and
yfinance's consent-form fallback), ``/v10/finance/quoteSummary/{SYM}``, ``/v7/finance/quote``
and ``/ws/fundamentals-timeseries/…`` — in Yahoo's real shapes, enforces the crumb like Yahoo
(401 ``Invalid Crumb``), logs every request, and injects faults per route and symbol. Clients
reach it through :class:`~resilient_provider.providers.routing.YahooRoutingSession`, which sends
``https://*.yahoo.com/…`` here and names the original host in a header.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from ...providers.routing import ORIGINAL_HOST_HEADER, YahooRoutingSession
from .answers import Answer, YahooResponder, classify, error_envelope
from .bodies import BodySource, YahooBodyGenerator
from .faults import DATA_ROUTES, Fault, FaultPlan, FaultRule

log = logging.getLogger(__name__)

#: How long a reset on a reused connection waits for the client to read the first bytes.
_RESET_READ_S = 0.01


@dataclass(frozen=True)
class RequestRecord:
    """One request the server received, and what it did with it.

    ``status`` is None when no response was sent (a hang or a connection reset); ``fault`` is
    the kind of the fault applied, if any; ``crumb_ok`` says whether the request carried a
    crumb this server issued and still honours.
    """

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
                 unknown_symbols: Iterable[str] = ("NOSUCH",), bodies: BodySource | None = None,
                 hang_limit_s: float = 30.0) -> None:
        if not latency_s >= 0:
            raise ValueError(f"latency_s must be >= 0, got {latency_s!r}")
        if not hang_limit_s > 0:
            raise ValueError(f"hang_limit_s must be > 0, got {hang_limit_s!r}")
        if isinstance(unknown_symbols, str):  # "NOSUCH" would otherwise mean its letters
            unknown_symbols = (unknown_symbols,)
        self.seed = seed
        self.latency_s = latency_s
        self.hang_limit_s = hang_limit_s
        self.responder = YahooResponder(
            seed, bodies if bodies is not None else YahooBodyGenerator(seed), unknown_symbols)
        self.faults = FaultPlan(seed)
        self._log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            return self
        handler = type("Handler", (_Handler,), {"yahoo": self})
        httpd = _Server(("127.0.0.1", 0), handler)
        self._stopping.clear()
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name=f"fake-yahoo-{httpd.server_address[1]}", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving at once: hung and slow requests are released, open connections closed."""
        httpd, self._httpd = self._httpd, None
        self._stopping.set()
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            httpd.close_connections()

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
        """A new curl_cffi session whose Yahoo requests come here (timeouts capped)."""
        return YahooRoutingSession(self.base_url, timeout_s=timeout_s)

    # --- faults, crumbs, log -------------------------------------------------------------------

    def inject(self, fault: Fault, *, route: str | Iterable[str] = "any",
               symbols: Iterable[str] | None = None, times: int | None = None,
               probability: float = 1.0) -> FaultRule:
        """Apply ``fault`` to requests for ``route`` (and, if given, any of ``symbols``).

        Rules are tried in the order they were added; the first one that matches and whose
        ``probability`` roll (on the server's seeded RNG) succeeds is applied, and its
        ``times`` counted down (the rule goes at 0). Raises ValueError naming a bad argument.
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
        """How many logged requests match every filter given (a symbol: among its symbols)."""
        wanted = symbol.upper() if symbol else None
        return sum(1 for r in self.requests
                   if (route is None or r.route == route)
                   and (wanted is None or wanted in r.symbols)
                   and (status is None or r.status == status))

    def reset_log(self) -> None:
        """Forget the requests logged so far."""
        with self._lock:
            self._log.clear()

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)


class _Server(ThreadingHTTPServer):
    """Threads that never block shutdown, connections that ``stop()`` can cut."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def track(self, connection: socket.socket, *, is_open: bool) -> None:
        """Remember (or forget) a client connection."""
        with self._open_lock:
            (self._open.add if is_open else self._open.discard)(connection)

    def close_connections(self) -> None:
        """Shut every open client connection (idle keep-alives would answer after stop)."""
        with self._open_lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (timed out, reset) is normal here; anything else is logged."""
        if isinstance(sys.exc_info()[1], OSError):
            log.debug("fake Yahoo: connection from %s ended abruptly", client_address)
        else:
            log.exception("fake Yahoo: error while serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    """Turns one HTTP request into a :class:`YahooResponder` answer and logs it."""

    yahoo: FakeYahooServer
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """Disable Nagle (headers and body go out in two writes; with delayed ACKs every
        keep-alive answer would wait ~40 ms) and track the connection for ``stop()``."""
        super().setup()
        self.answered = 0  # responses sent on this connection so far
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, is_open=True)

    def finish(self) -> None:
        """Forget the connection once it is done."""
        self.server.track(self.connection, is_open=False)
        with contextlib.suppress(OSError):  # reset under us: nothing left to flush
            super().finish()

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
            if self.answered:
                # libcurl silently retries, on a fresh connection, a request whose reused
                # keep-alive connection dies before a whole header line arrived: send the
                # status line (and let the client read it) so that it sees the reset instead
                # of making a second, unfaulted attempt.
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                yahoo._stopping.wait(_RESET_READ_S)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        delay = fault.delay_s if fault is not None and fault.kind == "slow" else 0.0
        if route in DATA_ROUTES:
            delay += yahoo.latency_s
        if delay:
            yahoo._stopping.wait(delay)
        try:
            answer = yahoo.responder.answer(route, parts.path, symbols, query, fault, rule)
        except Exception as exc:  # a broken BodySource: say so in the response, not a reset
            log.exception("fake Yahoo: answering %s %s failed", method, self.path)
            answer = Answer(500, json.dumps(error_envelope(
                route, "Internal Server Error", f"fake Yahoo body source failed: {exc!r}"))
                .encode())
        record(answer.status)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)
        self.answered += 1
