"""Requests counted by the kind of answer they got: the source that answered, or not found.

:class:`SourceCounts` is the ``sources`` part of a :class:`~.report.ReliabilityReport`;
:func:`answer_kind` is how :mod:`.counters` counts a final answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SymbolNotFoundError
from ..result import DataSource, FetchResult

#: The kind of answer counted apart from ``error``: the symbol is unknown (every provider
#: asked said so, or the negative cache knew), which is no source failing.
NOT_FOUND = "not_found"

#: What requests are counted by: the data sources, then ``not_found``.
ANSWER_KINDS = (*(source.value for source in DataSource), NOT_FOUND)


def answer_kind(result: FetchResult) -> str:
    """What the statistics count ``result`` as: its source (``"primary"``, …, ``"error"``),
    or ``"not_found"`` for an error answer whose code is ``symbol_not_found``."""
    if result.source is DataSource.ERROR and isinstance(result.error, SymbolNotFoundError):
        return NOT_FOUND
    return result.source.value


def percent(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, to 2 decimals (0 when ``whole`` is 0)."""
    return round(100.0 * part / whole, 2) if whole else 0.0


@dataclass(frozen=True, slots=True)
class SourceCounts:
    """Symbol requests by the source that answered them; the rates are percentages of all.

    ``error`` counts the answers no source could give (providers failed, no usable cache
    entry); ``not_found`` the error answers for a symbol that is unknown (see
    :func:`answer_kind`), counted apart because no source failed.
    """

    primary: int = 0
    fallback: int = 0
    cache_fresh: int = 0
    cache_stale: int = 0
    error: int = 0
    not_found: int = 0

    @classmethod
    def of(cls, by_source: Mapping[str, int]) -> SourceCounts:
        """The counts of ``by_source`` (request counts by :data:`ANSWER_KINDS` name)."""
        return cls(**{kind: by_source.get(kind, 0) for kind in ANSWER_KINDS})

    def count(self, kind: DataSource | str) -> int:
        """The requests answered by ``kind`` (a source, or ``"not_found"``)."""
        return dict(self.items())[kind.value if isinstance(kind, DataSource) else kind]

    def items(self) -> Iterator[tuple[str, int]]:
        """``(kind, requests)`` for every kind of :data:`ANSWER_KINDS`, in that order."""
        for kind in ANSWER_KINDS:
            yield kind, getattr(self, kind)

    @property
    def total_requests(self) -> int:
        """Requests answered, from any source."""
        return sum(count for _, count in self.items())

    @property
    def primary_success_rate(self) -> float:
        """Percent of requests the primary provider answered."""
        return percent(self.primary, self.total_requests)

    @property
    def fallback_usage_rate(self) -> float:
        """Percent of requests a fallback provider answered."""
        return percent(self.fallback, self.total_requests)

    @property
    def fresh_cache_usage_rate(self) -> float:
        """Percent of requests answered from the fresh cache."""
        return percent(self.cache_fresh, self.total_requests)

    @property
    def stale_cache_usage_rate(self) -> float:
        """Percent of requests answered from the stale cache."""
        return percent(self.cache_stale, self.total_requests)

    @property
    def total_success_rate(self) -> float:
        """Percent of requests answered with live data (primary or fallback)."""
        return percent(self.primary + self.fallback, self.total_requests)

    @property
    def error_rate(self) -> float:
        """Percent of requests no source could answer (not-found answers are not among them)."""
        return percent(self.error, self.total_requests)

    @property
    def not_found_rate(self) -> float:
        """Percent of requests answered that the symbol is unknown."""
        return percent(self.not_found, self.total_requests)

    @property
    def uptime_estimate(self) -> float:
        """Percent of requests the sources answered: with data (live or cached), or that the
        symbol is unknown; everything but ``error``."""
        return percent(self.total_requests - self.error, self.total_requests)

    def to_dict(self) -> dict[str, Any]:
        """``total_requests``, ``counts`` by source and the rates, as a report lists them."""
        return {
            "total_requests": self.total_requests,
            "counts": dict(self.items()),
            "primary_success_rate": self.primary_success_rate,
            "fallback_usage_rate": self.fallback_usage_rate,
            "fresh_cache_usage_rate": self.fresh_cache_usage_rate,
            "stale_cache_usage_rate": self.stale_cache_usage_rate,
            "total_success_rate": self.total_success_rate,
            "error_rate": self.error_rate,
            "not_found_rate": self.not_found_rate,
            "uptime_estimate": self.uptime_estimate,
        }
