"""Public test aids: a hand-moved clock and scripted providers (users test their code with them).

A loopback fake Yahoo server joins them with the real adapters.
"""

from .clock import FakeClock
from .scripted import Hang, Raise, ScriptedProvider, make_info

__all__ = ["FakeClock", "Hang", "Raise", "ScriptedProvider", "make_info"]
