"""A loopback fake Yahoo Finance for the real yfinance and yahooquery, with fault injection.

``FakeYahooServer`` serves Yahoo's info and chart endpoints on 127.0.0.1 with bodies from a
``BodySource`` (default: the deterministic ``YahooBodyGenerator``) and a ``ChartSource``
(default: ``YahooChartGenerator``), or recorded bodies verbatim (``serve_recorded``), faults
injected with ``Fault`` rules (per route, symbol, or the library that sent the request), and a
per-client throttle modelled on Yahoo's (``SlidingWindow`` or ``TokenBucket``, a
``PenaltyBox``, a cap in flight). ``YahooRoutingSession`` (a curl_cffi Session) sends a
library's Yahoo requests there.
``python -m resilient_provider.testing.fake_yahoo`` runs one from the command line.
"""

from ...providers.routing import YahooRoutingSession
from .bodies import BodySource, YahooBodyGenerator
from .chart import ChartSource, YahooChartGenerator
from .facts import quote_type_of
from .faults import LIBRARIES, RATE_LIMIT_BODY, Fault, FaultRule
from .request_log import RequestRecord
from .server import FakeYahooServer
from .throttle import THROTTLED_ROUTES, Limit, PenaltyBox, SlidingWindow, TokenBucket

__all__ = ["LIBRARIES", "RATE_LIMIT_BODY", "THROTTLED_ROUTES", "BodySource", "ChartSource",
           "FakeYahooServer", "Fault", "FaultRule", "Limit", "PenaltyBox", "RequestRecord",
           "SlidingWindow", "TokenBucket", "YahooBodyGenerator", "YahooChartGenerator",
           "YahooRoutingSession", "quote_type_of"]
