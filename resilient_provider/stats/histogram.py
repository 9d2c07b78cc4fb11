"""Latency histograms with fixed, log-spaced buckets: they add up across flushes and processes.

A run's latencies are written to the store as counts per bucket, so several processes (or
several flushes) summing their counts give the histogram of all of them, and percentiles can be
read from any selection of runs. Bucket bounds grow by :data:`RATIO` from :data:`FIRST_BOUND_MS`,
so a percentile read from the buckets is the upper bound of the bucket it falls in: at most
25% above the exact value, whatever the scale (0.1 ms to 10 minutes). The live, in-process
figures keep exact samples (see :mod:`.counters`); only the stored ones are bucketed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: Upper bound of the first bucket, in milliseconds; faster calls all land in it.
FIRST_BOUND_MS = 0.1
#: Each bucket's upper bound is this many times the previous one's.
RATIO = 1.25
#: Buckets in all: the last one's bound is about 9 minutes; slower calls all land in it.
BUCKETS = 72

_LOG_RATIO = math.log(RATIO)


def bucket_of(latency_ms: float) -> int:
    """The index of the bucket ``latency_ms`` is counted in (0 to ``BUCKETS - 1``)."""
    if not latency_ms > FIRST_BOUND_MS:  # also NaN and negatives
        return 0
    index = math.ceil(math.log(latency_ms / FIRST_BOUND_MS) / _LOG_RATIO - 1e-9)
    return min(BUCKETS - 1, index)


def upper_bound_ms(bucket: int) -> float:
    """The largest latency counted in ``bucket`` (rounded to a microsecond)."""
    return round(FIRST_BOUND_MS * RATIO**bucket, 3)


def percentile_of_buckets(counts: Mapping[int, int], pct: float) -> float | None:
    """The nearest-rank ``pct`` percentile of the latencies counted in ``counts`` (bucket index
    to count), as its bucket's upper bound; None when nothing was counted."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(total * pct / 100))
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return upper_bound_ms(bucket)
    return upper_bound_ms(max(counts))  # pragma: no cover - the loop always reaches rank
