"""Freshness: whether a cached entry may be served as fresh, only as stale, or not at all.

The one place the fresh / stale / too-old rule is written: the read-through of a request and
the cache step at the end of the cascade both ask :meth:`FreshnessRule.judge`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..cache.base import CacheEntry
from ..config import CacheSettings


class Freshness(enum.Enum):
    """What a cached entry's age allows."""

    FRESH = "fresh"
    """Younger than ``fresh_for``: as good as a live answer."""
    STALE = "stale"
    """Older than ``fresh_for``, younger than ``max_stale_age``: served only when nothing live
    answered (and ``enable_stale_cache`` is on)."""
    TOO_OLD = "too_old"
    """``max_stale_age`` or older: never served."""


@dataclass(frozen=True, slots=True)
class FreshnessRule:
    """Ages that make an entry fresh (below ``fresh_for_s``) or too old (from
    ``max_stale_age_s`` on); stale in between."""

    fresh_for_s: float
    max_stale_age_s: float

    @classmethod
    def from_settings(cls, settings: CacheSettings) -> FreshnessRule:
        """The rule of ``cache.fresh_for`` and ``cache.max_stale_age``."""
        return cls(settings.fresh_for, settings.max_stale_age)

    def judge(self, entry: CacheEntry, now: float) -> Freshness:
        """How fresh ``entry`` is at epoch ``now``."""
        age_s = entry.age_s(now)
        if age_s < self.fresh_for_s:
            return Freshness.FRESH
        if age_s >= self.max_stale_age_s:
            return Freshness.TOO_OLD
        return Freshness.STALE
