"""Public test aids: a hand-moved clock, scripted providers and a loopback fake Yahoo.

Users test their own code against outages with them; the project's tests use the same ones.
"""

from .clock import FakeClock
from .fake_yahoo import FakeYahooServer, Fault, YahooBodyGenerator, YahooRoutingSession
from .scripted import (
    Hang,
    HistoryCall,
    Raise,
    ScriptedHistoryProvider,
    ScriptedProvider,
    make_bars,
    make_info,
)

__all__ = ["FakeClock", "FakeYahooServer", "Fault", "Hang", "HistoryCall", "Raise",
           "ScriptedHistoryProvider", "ScriptedProvider", "YahooBodyGenerator",
           "YahooRoutingSession", "make_bars", "make_info"]
