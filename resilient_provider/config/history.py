"""Settings of price history (``history:``): how long the bar still forming counts as fresh,
what gap makes an answer partial, and how long cached bars are kept.

Part of :mod:`resilient_provider.config`; see :mod:`resilient_provider.history` for what they
steer.
"""

from __future__ import annotations

from pydantic import Field

from .types import Duration, FrozenModel


class HistorySettings(FrozenModel):
    """Freshness, the partial-answer rule and retention of the history cache.

    Bars whose period has ended are final and never fetched again; the last part of a fetched
    range (the bar still forming, and whatever bars have started since) counts as fresh for
    ``forming_fresh_for`` -- for intraday bars at most one bar's length -- then its tail is
    fetched anew. An answer with two bars (or its last bar and the end of the range asked)
    further apart than ``max_gap_intraday`` (bars shorter than a day) or ``max_gap_daily``
    (daily and longer: at least three bars' length) is partial: a data-contract failure that
    falls over to the next source; 0 turns the check off.
    """

    forming_fresh_for: Duration = Field(default=900.0, ge=0, le=86400)
    max_gap_intraday: Duration = Field(default=4 * 86400.0, ge=0)
    max_gap_daily: Duration = Field(default=10 * 86400.0, ge=0)
    keep_for: Duration = Field(default=30 * 86400.0, gt=0)

    def max_gap_s(self, bar_length_s: float) -> float:
        """The longest gap between bars ``bar_length_s`` long that is not a partial answer
        (0: any gap is accepted)."""
        if bar_length_s < 86400.0:
            return self.max_gap_intraday
        if self.max_gap_daily <= 0:
            return 0.0
        return max(self.max_gap_daily, 3 * bar_length_s)
