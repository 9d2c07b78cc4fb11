"""Latency buckets: every latency in exactly one bucket, percentiles within one bucket."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from resilient_provider.stats import percentile
from resilient_provider.stats.histogram import (
    BUCKETS,
    RATIO,
    bucket_of,
    percentile_of_buckets,
    upper_bound_ms,
)

latencies = st.floats(min_value=0.0, max_value=500_000.0, allow_nan=False)


@given(latencies)
def test_a_latency_falls_in_the_bucket_whose_bounds_hold_it(latency_ms: float) -> None:
    bucket = bucket_of(latency_ms)
    assert 0 <= bucket < BUCKETS
    assert latency_ms <= upper_bound_ms(bucket) * (1 + 1e-6)
    if bucket > 0:
        assert latency_ms > upper_bound_ms(bucket - 1) * (1 - 1e-6)


def test_nonsense_and_huge_latencies_land_in_the_edge_buckets() -> None:
    assert bucket_of(-1.0) == bucket_of(math.nan) == 0
    assert bucket_of(1e12) == BUCKETS - 1


@given(st.lists(st.floats(min_value=0.2, max_value=100_000.0), min_size=1, max_size=200),
       st.sampled_from([50, 95, 99]))
def test_a_percentile_from_buckets_is_within_one_bucket_above_the_exact_one(
        values: list[float], pct: int) -> None:
    counts: dict[int, int] = {}
    for value in values:
        counts[bucket_of(value)] = counts.get(bucket_of(value), 0) + 1
    exact = percentile(sorted(values), pct)
    estimate = percentile_of_buckets(counts, pct)
    assert exact is not None and estimate is not None
    assert exact * (1 - 1e-6) <= estimate <= exact * RATIO * (1 + 1e-6)


def test_no_counts_no_percentile() -> None:
    assert percentile_of_buckets({}, 50) is None
