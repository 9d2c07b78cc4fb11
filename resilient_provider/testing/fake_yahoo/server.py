"""``FakeYahooServer``: Yahoo Finance on 127.0.0.1 for the real yfinance and yahooquery.

It answers what the two libraries request for ticker info and price history — the cookie/crumb
handshake (and yfinance's consent-form fallback), ``/v10/finance/quoteSummary/{SYM}``,
``/v7/finance/quote``, ``/ws/fundamentals-timeseries/…`` and ``/v8/finance/chart/{SYM}``
(:mod:`.chart`) — in Yahoo's real shapes, or a recorded body verbatim
(:meth:`FakeYahooServer.serve_recorded`), enforces the crumb like Yahoo (401 ``Invalid
Crumb``), logs every request, injects faults per route, symbol and library, and
can throttle each client the way Yahoo is reported to (:mod:`.throttle`). Clients reach it
through :class:`~resilient_provider.providers.routing.YahooRoutingSession`, which sends
``https://*.yahoo.com/…`` here and names the original host in a header.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ...providers.routing import YahooRoutingSession
from .answers import JSON, Answer, YahooResponder
from .bodies import BodySource, YahooBodyGenerator
from .chart import ChartSource, YahooChartGenerator
from .faults import RATE_LIMIT_BODY, Fault, FaultPlan, FaultRule
from .fingerprint import LibraryIdentifier
from .handler import LoopbackServer, YahooHandler
from .request_log import RequestLog, RequestRecord, matcher
from .throttle import THROTTLED_ROUTES, Limit, PenaltyBox, Throttle

__all__ = ["FakeYahooServer", "RequestRecord"]


class FakeYahooServer:
    """Yahoo Finance on loopback, with deterministic bodies, injectable faults and a per-client
    throttle.

    Args:
        seed: seeds the body generator, the crumbs and the faults' probability rolls.
        latency_s: delay before every quoteSummary, quote, timeseries and chart answer.
        unknown_symbols: symbols answered as Yahoo answers a symbol it does not know.
        bodies: where bodies come from (default: :class:`YahooBodyGenerator` of ``seed``).
        charts: where chart answers come from (default: :class:`~.chart.YahooChartGenerator`
            of ``seed``, on the wall clock).
        hang_limit_s: how long a ``Fault.hang()`` holds its connection at most.
        port: the port to listen on (0: a free one, picked when the server starts).
        clock: seconds for the throttle and the log's ``at_s`` (tests pass a fake clock).
    """

    def __init__(self, *, seed: int = 0, latency_s: float = 0.0,
                 unknown_symbols: Iterable[str] = ("NOSUCH",), bodies: BodySource | None = None,
                 hang_limit_s: float = 30.0, port: int = 0,
                 clock: Callable[[], float] = time.monotonic,
                 charts: ChartSource | None = None) -> None:
        if not latency_s >= 0:
            raise ValueError(f"latency_s must be >= 0, got {latency_s!r}")
        if not hang_limit_s > 0:
            raise ValueError(f"hang_limit_s must be > 0, got {hang_limit_s!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535, got {port!r}")
        if isinstance(unknown_symbols, str):  # "NOSUCH" would otherwise mean its letters
            unknown_symbols = (unknown_symbols,)
        self.seed = seed
        self.latency_s = latency_s
        self.hang_limit_s = hang_limit_s
        self.responder = YahooResponder(
            seed, bodies if bodies is not None else YahooBodyGenerator(seed), unknown_symbols,
            charts if charts is not None else YahooChartGenerator(seed))
        self.faults = FaultPlan(seed)
        self.identifier = LibraryIdentifier()
        self.port = port
        self.clock = clock
        self.stopping = threading.Event()
        self._log = RequestLog()
        self._throttle: Throttle | None = None
        self._httpd: LoopbackServer | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on 127.0.0.1 (``port``, or a free port) and serve in a background thread.

        Raises OSError if the port is taken.
        """
        if self._httpd is not None:
            return self
        handler = type("Handler", (YahooHandler,), {"yahoo": self})
        httpd = LoopbackServer(("127.0.0.1", self.port), handler)
        self.stopping.clear()
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name=f"fake-yahoo-{httpd.server_address[1]}", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving at once: hung and slow requests are released, open connections closed."""
        httpd, self._httpd = self._httpd, None
        self.stopping.set()
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

    # --- faults, throttle, crumbs, log -------------------------------------------------------

    def inject(self, fault: Fault, *, route: str | Iterable[str] = "any",
               symbols: Iterable[str] | None = None, times: int | None = None,
               probability: float = 1.0, library: str | None = None) -> FaultRule:
        """Apply ``fault`` to requests for ``route`` (and, if given, any of ``symbols``, sent
        by ``library``: ``"yfinance"`` or ``"yahooquery"``, see :mod:`.fingerprint`).

        Rules are tried in the order they were added, after the throttle; the first one that
        matches and whose ``probability`` roll (on the server's seeded RNG) succeeds is
        applied, and its ``times`` counted down (the rule goes at 0). Raises ValueError naming
        a bad argument.
        """
        return self.faults.add(fault, route=route, symbols=symbols, times=times,
                               probability=probability, library=library)

    def block_library(self, library: str, *, route: str | Iterable[str] = THROTTLED_ROUTES,
                      retry_after_s: float | None = None) -> FaultRule:
        """Answer 429 (Yahoo's text body) to one library's requests while the other works:
        Yahoo blocking a library's fingerprint or crumb handling, not the IP.

        The same as ``inject(Fault.rate_limited(retry_after_s), route=route,
        library=library)``; ``remove()`` the rule to lift the block.
        """
        return self.inject(Fault.rate_limited(retry_after_s), route=route, library=library)

    def throttle(self, limit: Limit | None = None, *, penalty: PenaltyBox | None = None,
                 max_in_flight: int | None = None,
                 routes: str | Iterable[str] = THROTTLED_ROUTES,
                 retry_after_s: float | None = None, body: str = RATE_LIMIT_BODY) -> None:
        """Limit every client (source address) the way Yahoo is reported to; see
        :mod:`.throttle`. Replaces the throttle in force, with fresh per-client state.

        Args:
            limit: :class:`SlidingWindow` or :class:`TokenBucket` (None: only ``max_in_flight``).
            penalty: a :class:`PenaltyBox` on top: enough 429s soon enough, and the client is
                refused everything on ``routes`` for a while.
            max_in_flight: refuse a request while this many of the client's are being answered.
            routes: the routes throttled (default: the crumb and the data routes).
            retry_after_s: send ``Retry-After`` (rounded up to whole seconds) with each 429;
                Yahoo sends none, so neither does the default.
            body: the 429's plain-text body (Yahoo also sends ``"Edge: Too Many Requests"``).

        Raises ValueError naming a bad argument. Refusals are logged with ``fault="throttled"``
        and the ``reason``; they use up no fault rule.
        """
        self._throttle = Throttle(limit, penalty=penalty, max_in_flight=max_in_flight,
                                  routes=routes, retry_after_s=retry_after_s, body=body,
                                  clock=self.clock)

    def clear_throttle(self) -> None:
        """Stop throttling (requests in flight finish under the old throttle)."""
        self._throttle = None

    @property
    def current_throttle(self) -> Throttle | None:
        """The throttle in force, if any."""
        return self._throttle

    def now(self) -> float:
        """The server clock's reading."""
        return self.clock()

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.faults.clear()

    @property
    def bodies(self) -> BodySource:
        """Where bodies come from (the generator's ``set_price`` is reachable here)."""
        bodies: BodySource = self.responder.bodies
        return bodies

    @property
    def charts(self) -> ChartSource:
        """Where chart answers come from."""
        return self.responder.charts

    def serve_recorded(self, *, route: str, symbol: str,
                       body: bytes | str | dict[str, Any] | os.PathLike[str] | None,
                       status: int = 200, content_type: str = JSON) -> None:
        """Answer ``route`` (``"chart"``, ``"quoteSummary"`` or ``"timeseries"``) for
        ``symbol`` with a recorded body, verbatim, whatever the query says.

        ``body`` is the body itself (bytes or str as they are, a dict as JSON) or the path of
        a file holding it (e.g. ``chart_AAPL_…_1d_div-split.json`` of the recorded responses);
        None goes back to generated answers. Throttling and faults still apply first.
        Raises ValueError naming a bad route or status.
        """
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"status must be an int in 100..599, got {status!r}")
        if body is None:
            self.responder.serve_recorded(route, symbol, None)
            return
        if isinstance(body, os.PathLike):
            raw = Path(body).read_bytes()
        elif isinstance(body, dict):
            raw = json.dumps(body, separators=(",", ":")).encode()
        else:
            raw = body.encode() if isinstance(body, str) else bytes(body)
        self.responder.serve_recorded(route, symbol, Answer(status, raw, content_type))

    def expire_crumbs(self) -> None:
        """Make every crumb issued so far invalid (the next data request gets a 401)."""
        self.responder.expire_crumbs()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first (a copy)."""
        return self._log.records()

    def count(self, route: str | None = None, symbol: str | None = None,
              status: int | None = None, *, fault: str | None = None,
              library: str | None = None) -> int:
        """How many logged requests match every filter given (a symbol: among its symbols)."""
        return self._log.count(matcher(route=route, symbol=symbol, status=status, fault=fault,
                                       library=library))

    def count_per_window(self, window_s: float = 1.0, *, route: str | None = None,
                         symbol: str | None = None, status: int | None = None,
                         fault: str | None = None, library: str | None = None) -> list[int]:
        """Logged requests matching the filters, per ``window_s`` of the server clock.

        The windows run from the first logged request to the last, empty ones included, so
        ``count_per_window(status=429)`` lines up with ``count_per_window()``.
        """
        return self._log.per_window(window_s, matcher(
            route=route, symbol=symbol, status=status, fault=fault, library=library))

    def reset_log(self) -> None:
        """Forget the requests logged so far."""
        self._log.clear()

    def record(self, record: RequestRecord) -> None:
        """Log one request (the handler calls this)."""
        self._log.append(record)
