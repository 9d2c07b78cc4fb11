"""The tagged history answer: bars plus where they came from, how old, how long it took."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ResilientProviderError
from ..result import Attempt, DataSource, tag_values

if TYPE_CHECKING:
    import pandas as pd

    from .request import HistoryRequest


@dataclass(frozen=True, slots=True)
class HistoryResult:
    """The bars for one symbol and one request, with the same tags as an info answer.

    ``frame`` is the bar frame (:mod:`~resilient_provider.history.bars`) adjusted as asked, the
    bars starting in the request's range; on total failure an empty bar frame, with ``error``
    set. ``source`` is the step that answered: a provider (``primary``/``fallback``, when any
    missing part was fetched; the rest came from the cache), ``cache_fresh`` (the cache
    covered the range, no provider asked) or ``cache_stale`` (the providers failed; what the
    cache had in the range). ``fetched_at`` and ``age_s`` are those of the newest bars'
    fetch; ``latency_ms`` the request's own; ``attempts`` the trace (each range asked, each
    provider and the cache); ``ticker`` the symbol as the caller spelled it.
    """

    symbol: str
    source: DataSource
    frame: pd.DataFrame
    request: HistoryRequest
    provider: str | None = None
    fetched_at: float | None = None
    age_s: float | None = None
    is_stale: bool = False
    latency_ms: float = 0.0
    error: ResilientProviderError | None = None
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    ticker: str | None = None

    def __post_init__(self) -> None:
        if self.ticker is None:
            object.__setattr__(self, "ticker", self.symbol)

    @property
    def success(self) -> bool:
        """True when the answer carries bars from some source (live or cached)."""
        return self.error is None

    @property
    def error_code(self) -> str | None:
        """The error's code, or None on success."""
        return self.error.code if self.error is not None else None

    @property
    def trace(self) -> tuple[Attempt, ...]:
        """The same as ``attempts``: every step tried, in order."""
        return self.attempts

    def with_ticker(self, ticker: str) -> HistoryResult:
        """This answer, naming ``ticker`` (the caller's spelling) as what was asked for."""
        return dataclasses.replace(self, ticker=ticker)

    def tags(self) -> dict[str, object]:
        """The tags of :data:`~resilient_provider.result.TAG_COLUMNS`, as for info answers."""
        return tag_values(self.source, self, error_code=self.error_code,
                          message=self.error.message if self.error is not None else None)

    def __repr__(self) -> str:
        """One short line: symbol, interval, source, provider, stale, age, latency, error code
        and the number of bars (not the bars)."""
        asked = "" if self.ticker == self.symbol else f", ticker={self.ticker!r}"
        age = None if self.age_s is None else round(self.age_s, 1)
        return (f"HistoryResult(symbol={self.symbol!r}{asked}, "
                f"interval={self.request.interval!r}, source={self.source.value!r}, "
                f"provider={self.provider!r}, stale={self.is_stale}, age_s={age}, "
                f"latency_ms={round(self.latency_ms, 1)}, error_code={self.error_code!r}, "
                f"bars={len(self.frame)})")
