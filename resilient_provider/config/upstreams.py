"""Settings of an upstream: the host a provider talks to, and how politely it is paced.

yfinance and yahooquery both talk to Yahoo, whose limit is per client IP, so their requests
share one budget (``upstreams.yahoo``). What the fields mean for the pacing itself is in
:mod:`resilient_provider.strategy.upstream`.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from .types import Duration, FrozenModel

#: The upstream of the built-in adapters.
YAHOO_UPSTREAM = "yahoo"


class UpstreamSettings(FrozenModel):
    """The request budget of one upstream, shared by every provider on it.

    The rate starts at ``initial_rate_per_s`` (or the rate learned by the last run) and rises
    while requests succeed: by ``increase_factor`` every ``increase_interval_s`` until the first
    429; after one, by the same factor back up to ``safe_share`` of the limit as last seen
    (what got through in the second before the 429), then by
    ``probe_share_per_s`` of that rate per second (probing whether the limit moved). A 429 cuts
    it by ``decrease_factor``; it never leaves ``[min_rate_per_s, max_rate_per_s]``. A 429 also
    pauses every request to the upstream: for its ``Retry-After`` when sent (at most
    ``max_retry_after_s``), else ``cooldown_s``, doubled on each 429 in a row up to
    ``max_cooldown_s``, reset by a success. At most ``max_in_flight`` requests are in flight.
    ``remember_rate`` keeps the rate learned for the next run (beside the statistics store).
    ``enabled: false`` turns the budget off: requests go out as the libraries send them, and a
    429 counts against the provider's breaker like any other failure.
    """

    enabled: bool = True
    initial_rate_per_s: float = Field(default=5.0, gt=0, le=10_000)
    min_rate_per_s: float = Field(default=0.2, gt=0, le=10_000)
    max_rate_per_s: float = Field(default=100.0, gt=0, le=10_000)
    max_in_flight: int = Field(default=4, ge=1, le=1024)
    increase_factor: float = Field(default=2.0, ge=1, le=10)
    increase_interval_s: Duration = Field(default=0.25, gt=0, le=60)
    safe_share: float = Field(default=0.85, gt=0, le=1)
    probe_share_per_s: float = Field(default=0.002, ge=0, le=1)
    decrease_factor: float = Field(default=0.5, gt=0, lt=1)
    cooldown_s: Duration = Field(default=1.0, gt=0, le=3600)
    max_cooldown_s: Duration = Field(default=30.0, gt=0, le=86400)
    max_retry_after_s: Duration = Field(default=3600.0, ge=0, le=86400)
    provider_block_window_s: Duration = Field(default=10.0, gt=0, le=3600)
    remember_rate: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min_rate_per_s <= self.initial_rate_per_s <= self.max_rate_per_s:
            raise ValueError(
                f"rates must satisfy min_rate_per_s ({self.min_rate_per_s:g}) <= "
                f"initial_rate_per_s ({self.initial_rate_per_s:g}) <= max_rate_per_s "
                f"({self.max_rate_per_s:g})")
        if self.max_cooldown_s < self.cooldown_s:
            raise ValueError(f"max_cooldown_s ({self.max_cooldown_s:g} s) must be >= "
                             f"cooldown_s ({self.cooldown_s:g} s)")
        return self
