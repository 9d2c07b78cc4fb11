"""``FakeYahooServer``: Yahoo Finance on 127.0.0.1 for the real yfinance and yahooquery.

It answers what the two libraries request for ticker info — the cookie/crumb handshake (and
yfinance's consent-form fallback), ``/v10/finance/quoteSummary/{SYM}``, ``/v7/finance/quote``
and ``/ws/fundamentals-timeseries/…`` — in Yahoo's real shapes, enforces the crumb like Yahoo
(401 ``Invalid Crumb``), logs every request, and injects faults per route and symbol. Clients
reach it through :class:`~resilient_provider.providers.routing.YahooRoutingSession`, which sends
``https://*.yahoo.com/…`` here and names the original host in a header.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from ...providers.routing import YahooRoutingSession
from .answers import YahooResponder
from .bodies import BodySource, YahooBodyGenerator
from .faults import Fault, FaultPlan, FaultRule
from .handler import LoopbackServer, YahooHandler
from .request_log import RequestLog, RequestRecord, matcher

__all__ = ["FakeYahooServer", "RequestRecord"]


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
        self.stopping = threading.Event()
        self._log = RequestLog()
        self._httpd: LoopbackServer | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            return self
        handler = type("Handler", (YahooHandler,), {"yahoo": self})
        httpd = LoopbackServer(("127.0.0.1", 0), handler)
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
        return self._log.records()

    def count(self, route: str | None = None, symbol: str | None = None,
              status: int | None = None) -> int:
        """How many logged requests match every filter given (a symbol: among its symbols)."""
        return self._log.count(matcher(route=route, symbol=symbol, status=status))

    def reset_log(self) -> None:
        """Forget the requests logged so far."""
        self._log.clear()

    def record(self, record: RequestRecord) -> None:
        """Log one request (the handler calls this)."""
        self._log.append(record)
