"""A loopback fake Yahoo Finance for the real yfinance and yahooquery, with fault injection."""

from ...providers.routing import YahooRoutingSession
from .bodies import BodySource, YahooBodyGenerator, quote_type_of
from .faults import Fault, FaultRule
from .server import FakeYahooServer, RequestRecord

__all__ = ["BodySource", "FakeYahooServer", "Fault", "FaultRule", "RequestRecord",
           "YahooBodyGenerator", "YahooRoutingSession", "quote_type_of"]
