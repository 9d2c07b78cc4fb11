"""Scripted providers: deterministic stand-ins for data sources, for tests and demos."""

from __future__ import annotations

import threading
import zlib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..providers.protocol import InfoOrError


def make_info(symbol: str, *, price: float | None = None, **overrides: Any) -> dict[str, Any]:
    """A plausible canonical info dict for ``symbol``, the same for the same symbol every time."""
    seed = zlib.crc32(symbol.encode())
    base = price if price is not None else round(10 + (seed % 49_000) / 100, 2)
    info: dict[str, Any] = {
        "symbol": symbol,
        "shortName": f"{symbol} Inc.",
        "longName": f"{symbol} Incorporated",
        "currency": "USD",
        "exchange": "NMS",
        "quoteType": "EQUITY",
        "regularMarketPrice": base,
        "currentPrice": base,
        "previousClose": round(base * 0.99, 2),
        "marketCap": int(base * 1_000_000 * (1 + seed % 5000)),
        "trailingPE": round(5 + seed % 40 + 0.5, 2),
        "forwardPE": round(4 + seed % 35 + 0.25, 2),
        "dividendYield": round((seed % 400) / 100, 2),
        "beta": round(0.5 + (seed % 150) / 100, 2),
        "fiftyTwoWeekHigh": round(base * 1.25, 2),
        "fiftyTwoWeekLow": round(base * 0.75, 2),
        "sector": "Technology",
        "industry": "Software",
        "targetMeanPrice": round(base * 1.1, 2),
        "recommendationKey": "buy",
        "numberOfAnalystOpinions": 5 + seed % 40,
    }
    info.update(overrides)
    return info


@dataclass(frozen=True)
class Raise:
    """A step that makes the whole ``fetch_info`` call raise ``error``."""

    error: BaseException


class Hang:
    """A step that blocks the call until the provider is closed or :meth:`release` is called."""

    def __init__(self) -> None:
        self._released = threading.Event()

    def wait(self) -> None:
        """Block until released (bounded, so a forgotten hang cannot outlive a test run)."""
        self._released.wait(timeout=300)

    def release(self) -> None:
        """Let every call blocked on this step return."""
        self._released.set()


#: A script step: an info dict, an error instance, :class:`Raise` or :class:`Hang` — or any other
#: value, answered as it is (to test how malformed answers are handled).
Step = object


class ScriptedProvider:
    """A provider that answers from a script, per symbol, step by step.

    ``script`` maps a symbol to its steps: an info dict (answered), an error instance (answered
    as that symbol's error), :class:`Raise` (the whole call raises), :class:`Hang` (the call
    blocks). Steps are used one per call and the last one repeats. Symbols without a script get
    ``default`` — by default :func:`make_info`. ``calls`` records the symbols of every call.
    """

    def __init__(self, name: str, script: Mapping[str, Sequence[Step] | Step] | None = None,
                 *, default: Step | None = None) -> None:
        self.name = name
        self.default = default
        self.calls: list[list[str]] = []
        self.closed = False
        self._lock = threading.Lock()
        self._script: dict[str, deque[Step]] = {}
        self._hangs: list[Hang] = []
        for symbol, steps in (script or {}).items():
            self.set(symbol, *(steps if isinstance(steps, list | tuple) else [steps]))

    def set(self, symbol: str, *steps: Step) -> None:
        """Replace the script for ``symbol``."""
        with self._lock:
            self._script[symbol] = deque(steps)

    def set_default(self, step: Step | None) -> None:
        """Answer unscripted symbols with ``step`` (None: a generated info dict)."""
        with self._lock:
            self.default = step

    def _next(self, symbol: str) -> Step:
        steps = self._script.get(symbol)
        if not steps:
            return self.default if self.default is not None else make_info(symbol)
        return steps.popleft() if len(steps) > 1 else steps[0]

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        """Answer ``symbols`` from the script."""
        with self._lock:
            self.calls.append(list(symbols))
            steps = {s: self._next(s) for s in symbols}
        answers: dict[str, Any] = {}
        for symbol, step in steps.items():
            if isinstance(step, Raise):
                raise step.error
            if isinstance(step, Hang):
                with self._lock:
                    self._hangs.append(step)
                step.wait()
                continue
            answers[symbol] = dict(step) if isinstance(step, dict) else step
        return answers

    @property
    def call_count(self) -> int:
        """How many times ``fetch_info`` was called."""
        with self._lock:
            return len(self.calls)

    def close(self) -> None:
        """Release any hanging call."""
        self.closed = True
        with self._lock:
            hangs, self._hangs = self._hangs, []
        for hang in hangs:
            hang.release()
