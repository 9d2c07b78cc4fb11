"""The tagged answer: where data came from, how old it is, how long it took, what was tried."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from .errors import ResilientProviderError


class DataSource(enum.StrEnum):
    """Which step of the cascade produced an answer."""

    PRIMARY = "primary"
    FALLBACK = "fallback"
    CACHE_FRESH = "cache_fresh"
    CACHE_STALE = "cache_stale"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One step of the cascade for one symbol, and how it ended.

    ``step`` is a provider name or ``"cache"``; ``outcome`` is ``"success"``, ``"error"``,
    ``"skipped"`` (circuit open, switched off, deadline spent) or ``"miss"`` (cache);
    ``detail`` is the human-readable account used in error messages; ``retried_codes`` are the
    error codes of a provider's earlier attempts that were retried (``error_code`` is the
    last one's), so a not-found seen only after a 429 still shows the 429.
    """

    step: str
    outcome: str
    detail: str
    error_code: str | None = None
    latency_ms: float = 0.0
    retries: int = 0
    retried_codes: tuple[str, ...] = ()


#: The tags of an answer, in the order every tabular output (CSV, table, Parquet, DataFrame)
#: puts them after the data; :meth:`FetchResult.tags` gives their values.
TAG_COLUMNS = ("_data_source", "_provider", "_is_stale", "_fetched_at", "_age_s", "_latency_ms",
               "_error_code", "error")

#: The tags of a tagged dict with data (``get_ticker_info`` on success).
SUCCESS_TAGS = TAG_COLUMNS[:6]

#: The tags of a tagged dict without data, in the documented order (message first).
FAILURE_TAGS = ("error", "_error_code", "_data_source", "_latency_ms")


def iso_utc(epoch_s: float) -> str:
    """Format epoch seconds as ISO 8601 in UTC (``2026-01-02T03:04:05.678+00:00``)."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat(timespec="milliseconds")


class Tagged(Protocol):
    """What :func:`tag_values` reads of an answer (a :class:`FetchResult` or a history one)."""

    @property
    def provider(self) -> str | None: ...
    @property
    def is_stale(self) -> bool: ...
    @property
    def fetched_at(self) -> float | None: ...
    @property
    def age_s(self) -> float | None: ...
    @property
    def latency_ms(self) -> float: ...


def tag_values(source: DataSource, answer: Tagged, *, error_code: str | None,
               message: str | None) -> dict[str, Any]:
    """The tags of :data:`TAG_COLUMNS`, in that order, for ``answer`` served from ``source``:
    latency and age rounded to 3 decimals, ``_fetched_at`` ISO 8601 in UTC, None where the
    answer has no value."""
    return {
        "_data_source": source.value,
        "_provider": answer.provider,
        "_is_stale": answer.is_stale,
        "_fetched_at": iso_utc(answer.fetched_at) if answer.fetched_at is not None else None,
        "_age_s": round(answer.age_s, 3) if answer.age_s is not None else None,
        "_latency_ms": round(answer.latency_ms, 3),
        "_error_code": error_code,
        "error": message,
    }


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The full answer for one symbol: the data (or error) plus its provenance and trace.

    ``ticker`` is what the caller asked for, as spelled (``" aapl"``); it defaults to
    ``symbol``, the normalised form. ``latency_ms`` is this symbol's own: from the start of its
    walk of the chain until its answer was ready (in a batch, not the slowest symbol's of its
    chunk).
    """

    symbol: str
    source: DataSource
    data: dict[str, Any] | None = None
    provider: str | None = None
    fetched_at: float | None = None
    age_s: float | None = None
    is_stale: bool = False
    latency_ms: float = 0.0
    error: ResilientProviderError | None = None
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    ticker: str | None = None

    def __post_init__(self) -> None:
        if self.ticker is None:  # asked for as spelled: the ticker is the symbol
            object.__setattr__(self, "ticker", self.symbol)

    @property
    def success(self) -> bool:
        """True when the answer carries data (live or cached)."""
        return self.data is not None

    def with_ticker(self, ticker: str) -> FetchResult:
        """This answer, naming ``ticker`` (the caller's spelling) as what was asked for."""
        return dataclasses.replace(self, ticker=ticker)

    def tags(self) -> dict[str, Any]:
        """Every tag of :data:`TAG_COLUMNS`, in that order: the one definition of their values.

        Latency and age are rounded to 3 decimals, ``_fetched_at`` is ISO 8601 in UTC; the tags
        an answer has no value for are None (an answer without data always has an error code
        and message).
        """
        failed = self.data is None
        error_code: str | None = None
        message: str | None = None
        if self.error is not None:
            error_code, message = self.error.code, self.error.message
        elif failed:  # no data and no error: the cascade never builds one, the tags still say so
            error_code, message = "error", "no data"
        return tag_values(DataSource.ERROR if failed else self.source, self,
                          error_code=error_code, message=message)

    def __repr__(self) -> str:
        """One short line: symbol, source, provider, stale, age, latency, error code, and how
        many fields the data has (not the fields themselves: an info dict has about 185)."""
        asked = "" if self.ticker == self.symbol else f", ticker={self.ticker!r}"
        tags = self.tags()
        age = None if self.age_s is None else round(self.age_s, 1)
        return (f"FetchResult(symbol={self.symbol!r}{asked}, source={tags['_data_source']!r}, "
                f"provider={self.provider!r}, stale={self.is_stale}, age_s={age}, "
                f"latency_ms={round(self.latency_ms, 1)}, error_code={tags['_error_code']!r}, "
                f"fields={len(self.data or ())})")

    def _repr_html_(self) -> str:
        """The answer as an HTML table for notebooks: its tags, then the core fields."""
        from .html_repr import result_html

        return result_html(self)

    def to_tagged_dict(self) -> dict[str, Any]:
        """The ``get_ticker_info`` format: the canonical dict plus ``_``-prefixed tags.

        On success: the data plus :data:`SUCCESS_TAGS`; on failure: ``symbol``, ``ticker`` and
        :data:`FAILURE_TAGS` (``{"symbol", "ticker", "error", "_error_code", "_data_source",
        "_latency_ms"}``).
        """
        tags = self.tags()
        if self.data is None:
            return {"symbol": self.symbol, "ticker": self.ticker,
                    **{name: tags[name] for name in FAILURE_TAGS}}
        return {**self.data, **{name: tags[name] for name in SUCCESS_TAGS}}
