"""What an upstream's request budget counted: part of the reliability report.

The budget (``strategy.upstream.UpstreamBudget``) makes one live; the store keeps its counts
(flat counters of scope ``"upstream"``), so a stored report has them too, without the rates,
which are gauges of a running budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The counters of an upstream the store keeps: metric -> how a report names it.
STORED_METRICS = ("requests", "provider_requests", "rate_limited", "provider_blocks",
                  "cooldowns", "cooling_ms", "cooling_skips")


@dataclass(frozen=True, slots=True)
class UpstreamReport:
    """One upstream's budget: its pacing rate (live reports only: None when read from the
    store) and what it counted since the façade started."""

    name: str
    rate_per_s: float | None = None
    min_rate_per_s: float | None = None
    max_rate_per_s: float | None = None
    cooling_for_s: float | None = None
    in_flight: int | None = None
    requests_by_route: Mapping[str, int] = field(default_factory=dict)
    requests_by_provider: Mapping[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    provider_blocks: int = 0
    cooldowns: int = 0
    cooling_s: float = 0.0
    cooling_skips: int = 0
    wait_p50_s: float | None = None
    wait_p95_s: float | None = None

    @property
    def requests(self) -> int:
        """HTTP requests sent to the upstream."""
        return sum(self.requests_by_route.values())

    @property
    def rate_limited_share(self) -> float:
        """Percent of the requests answered 429."""
        return round(100.0 * self.rate_limited / self.requests, 2) if self.requests else 0.0

    def counters(self) -> Iterator[tuple[str, str, int]]:
        """``(metric, label, count)`` of what the store keeps (see :data:`STORED_METRICS`)."""
        for route, count in self.requests_by_route.items():
            yield "requests", route, count
        for provider, count in self.requests_by_provider.items():
            yield "provider_requests", provider, count
        yield "rate_limited", "", self.rate_limited
        yield "provider_blocks", "", self.provider_blocks
        yield "cooldowns", "", self.cooldowns
        yield "cooling_ms", "", round(self.cooling_s * 1000)
        yield "cooling_skips", "", self.cooling_skips

    @classmethod
    def of_counters(cls, name: str, counts: Mapping[tuple[str, str], int]) -> UpstreamReport:
        """The stored form: the counts of ``counts`` (``(metric, label)`` to a sum)."""
        by = {metric: {label: n for (m, label), n in counts.items() if m == metric}
              for metric in STORED_METRICS}
        return cls(name=name, requests_by_route=by["requests"],
                   requests_by_provider=by["provider_requests"],
                   rate_limited=sum(by["rate_limited"].values()),
                   provider_blocks=sum(by["provider_blocks"].values()),
                   cooldowns=sum(by["cooldowns"].values()),
                   cooling_s=sum(by["cooling_ms"].values()) / 1000.0,
                   cooling_skips=sum(by["cooling_skips"].values()))

    def to_dict(self, *, served: int) -> dict[str, Any]:
        """The upstream's entry under ``upstreams``; ``served``: symbols its providers
        answered, for ``requests_per_symbol``."""
        return {
            "rate_per_s": self.rate_per_s, "min_rate_per_s": self.min_rate_per_s,
            "max_rate_per_s": self.max_rate_per_s, "cooling_for_s": self.cooling_for_s,
            "in_flight": self.in_flight, "requests": self.requests,
            "requests_by_route": dict(self.requests_by_route),
            "requests_by_provider": dict(self.requests_by_provider),
            "requests_per_symbol": round(self.requests / served, 3) if served else None,
            "rate_limited": self.rate_limited, "rate_limited_share": self.rate_limited_share,
            "provider_blocks": self.provider_blocks, "cooldowns": self.cooldowns,
            "cooling_s": round(self.cooling_s, 3), "cooling_skips": self.cooling_skips,
            "permit_wait_s": {"p50": self.wait_p50_s, "p95": self.wait_p95_s},
        }
