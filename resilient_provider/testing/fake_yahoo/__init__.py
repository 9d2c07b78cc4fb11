"""A loopback fake Yahoo Finance for the real yfinance and yahooquery, with fault injection.

``FakeYahooServer`` serves Yahoo's info endpoints on 127.0.0.1 with bodies from a
``BodySource`` (default: the deterministic ``YahooBodyGenerator``) and faults injected with
``Fault`` rules; ``YahooRoutingSession`` (a curl_cffi Session) sends a library's Yahoo
requests there.
"""

from ...providers.routing import YahooRoutingSession
from .bodies import BodySource, YahooBodyGenerator
from .facts import quote_type_of
from .faults import Fault, FaultRule
from .server import FakeYahooServer, RequestRecord

__all__ = ["BodySource", "FakeYahooServer", "Fault", "FaultRule", "RequestRecord",
           "YahooBodyGenerator", "YahooRoutingSession", "quote_type_of"]
