"""The one fresh / stale / too-old rule the read-through and the cascade's cache step share."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from resilient_provider.cache import CacheEntry
from resilient_provider.config import CacheSettings
from resilient_provider.strategy.freshness import Freshness, FreshnessRule

RULE = FreshnessRule(fresh_for_s=60.0, max_stale_age_s=3600.0)
NOW = 1_800_000_000.0


def entry_aged(age_s: float) -> CacheEntry:
    return CacheEntry({"symbol": "AAPL"}, fetched_at=NOW - age_s, provider="p")


def test_an_entry_younger_than_fresh_for_is_fresh() -> None:
    assert RULE.judge(entry_aged(59.9), NOW) is Freshness.FRESH


def test_an_entry_of_exactly_fresh_for_is_stale() -> None:
    assert RULE.judge(entry_aged(60.0), NOW) is Freshness.STALE


def test_an_entry_of_exactly_max_stale_age_is_too_old() -> None:
    assert RULE.judge(entry_aged(3600.0), NOW) is Freshness.TOO_OLD


def test_an_entry_stamped_in_the_future_is_fresh() -> None:
    assert RULE.judge(entry_aged(-30.0), NOW) is Freshness.FRESH


def test_the_rule_reads_the_cache_settings() -> None:
    settings = CacheSettings.model_validate({"fresh_for": "2h", "max_stale_age": "3d"})
    rule = FreshnessRule.from_settings(settings)
    assert rule == FreshnessRule(fresh_for_s=7200.0, max_stale_age_s=259200.0)


ORDER = [Freshness.FRESH, Freshness.STALE, Freshness.TOO_OLD]


@given(fresh_for=st.floats(0, 1e6), extra=st.floats(0, 1e6),
       ages=st.lists(st.floats(-1e3, 3e6), min_size=2, max_size=20))
def test_an_older_entry_is_never_judged_fresher(fresh_for: float, extra: float,
                                               ages: list[float]) -> None:
    rule = FreshnessRule(fresh_for, fresh_for + extra)
    verdicts = [ORDER.index(rule.judge(entry_aged(age), NOW)) for age in sorted(ages)]
    assert verdicts == sorted(verdicts)
