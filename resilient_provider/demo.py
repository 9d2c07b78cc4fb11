"""An offline walk through every step of the cascade, with scripted providers and a fake clock.

Scripted outage: both sources up → primary down → both down → time passes → a symbol that was
never cached. Every source shows up once: primary, fallback, cache_fresh, cache_stale, error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .cache import MemoryCache
from .config import Settings
from .errors import ProviderUnavailableError, RateLimitError
from .facade import ResilientProvider
from .result import FetchResult
from .testing import FakeClock, ScriptedProvider

PORTFOLIO = ("AAPL", "MSFT", "^GSPC")


@dataclass(frozen=True)
class DemoRow:
    """One answer of the demo, with the phase of the outage it was asked in."""

    phase: str
    result: FetchResult


def run_demo() -> tuple[list[DemoRow], dict[str, object]]:
    """Run the scripted outage; return every answer and the final reliability statistics."""
    clock = FakeClock()
    primary = ScriptedProvider("sim-yfinance")
    secondary = ScriptedProvider("sim-yahooquery")
    settings = Settings(
        providers=[], deadline_s=10,
        provider_defaults={"timeout_s": 2, "retry": {"max_attempts": 2, "jitter": 0},
                           "breaker": {"failure_threshold": 3, "reset_timeout_s": "5m"}},
        cache={"backend": "memory"},
    )
    rows: list[DemoRow] = []
    with ResilientProvider([primary, secondary], cache=MemoryCache(clock=clock),
                           settings=settings, clock=clock) as provider:

        def ask(phase: str, symbols: tuple[str, ...] = PORTFOLIO) -> None:
            rows.extend(DemoRow(phase, provider.fetch(s)) for s in symbols)

        for phase, action in _phases(primary, secondary, clock):
            action()
            ask(phase, ("NVDA",) if phase.startswith("5") else PORTFOLIO)
        stats = provider.get_reliability_stats()
    return rows, stats


def _phases(primary: ScriptedProvider, secondary: ScriptedProvider,
            clock: FakeClock) -> Iterator[tuple[str, Callable[[], None]]]:
    yield "1 both sources up", lambda: None
    yield "2 primary rate-limited", lambda: primary.set_default(
        RateLimitError("HTTP 429 Too Many Requests", retry_after=3600))
    yield "3 both sources down", lambda: secondary.set_default(
        ProviderUnavailableError("connection refused"))
    yield "4 three days later", lambda: clock.advance(3 * 86400)
    yield "5 a symbol never cached", lambda: None
