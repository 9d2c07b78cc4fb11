"""The fake Yahoo's HTTP plumbing: a threading server whose connections ``stop()`` can cut, and
the handler that turns one request into an answer.

Per request, in Yahoo's order: the throttle (Yahoo's edge refuses before anything else looks at
the request), then the fault rules, then the answer (crumb check included). Everything is
logged. The handler knows its fake Yahoo only through :class:`YahooSide`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from ...providers.routing import ORIGINAL_HOST_HEADER
from .answers import Answer, YahooResponder, classify, error_envelope
from .faults import DATA_ROUTES, FaultPlan
from .fingerprint import LibraryIdentifier
from .request_log import RequestRecord
from .throttle import Throttle

log = logging.getLogger(__name__)

#: How long a reset on a reused connection waits for the client to read the first bytes.
_RESET_READ_S = 0.01


class YahooSide(Protocol):
    """What the handler needs from its fake Yahoo (``FakeYahooServer`` provides it)."""

    responder: YahooResponder
    faults: FaultPlan
    identifier: LibraryIdentifier
    latency_s: float
    hang_limit_s: float
    stopping: threading.Event

    @property
    def current_throttle(self) -> Throttle | None:
        """The throttle in force, if any."""
        ...

    def now(self) -> float:
        """The server clock's reading."""
        ...

    def record(self, record: RequestRecord) -> None:
        """Log one request."""
        ...


class LoopbackServer(ThreadingHTTPServer):
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


class YahooHandler(BaseHTTPRequestHandler):
    """Turns one HTTP request into a :class:`YahooResponder` answer and logs it."""

    yahoo: YahooSide
    server: LoopbackServer
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
        arrived_s = yahoo.now()
        client = str(self.client_address[0])
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        host = (self.headers.get(ORIGINAL_HOST_HEADER) or "").lower()
        route, symbols = classify(host, parts.path, query)
        library = yahoo.identifier.identify(route, host, query, self.headers.get("Cookie"))
        crumb_ok = yahoo.responder.crumb_valid(query)

        def record(status: int | None, fault: str | None, reason: str | None = None) -> None:
            yahoo.record(RequestRecord(route, method, host, parts.path, symbols, status, fault,
                                       crumb_ok, client, library, reason, arrived_s))

        throttle = yahoo.current_throttle
        admission = (throttle.admission(client, route) if throttle is not None
                     else contextlib.nullcontext(None))
        with admission as refused:
            if refused is not None and throttle is not None:
                record(throttle.answer.status, "throttled", refused)
                self._send(throttle.answer)
                return
            rule = yahoo.faults.pick(route, symbols, library)
            fault = rule.fault if rule is not None else None
            kind = fault.kind if fault is not None else None
            if kind == "hang":
                record(None, kind)
                yahoo.stopping.wait(yahoo.hang_limit_s)
                self.close_connection = True
                return
            if kind == "connection_reset":
                record(None, kind)
                self._reset()
                return
            delay = fault.delay_s if fault is not None and kind == "slow" else 0.0
            if route in DATA_ROUTES:
                delay += yahoo.latency_s
            if delay:
                yahoo.stopping.wait(delay)
            try:
                answer = yahoo.responder.answer(route, parts.path, symbols, query, fault, rule)
            except Exception as exc:  # a broken BodySource: say so in the response, not a reset
                log.exception("fake Yahoo: answering %s %s failed", method, self.path)
                answer = Answer(500, json.dumps(error_envelope(
                    route, "Internal Server Error", f"fake Yahoo body source failed: {exc!r}"))
                    .encode())
            if route == "cookie":
                yahoo.identifier.learn((v for k, v in answer.headers if k == "Set-Cookie"),
                                       library)
            record(answer.status, kind)
            self._send(answer)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)
        self.answered += 1

    def _reset(self) -> None:
        if self.answered:
            # libcurl silently retries, on a fresh connection, a request whose reused
            # keep-alive connection dies before a whole header line arrived: send the status
            # line (and let the client read it) so that it sees the reset instead of making a
            # second, unfaulted attempt.
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.yahoo.stopping.wait(_RESET_READ_S)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
