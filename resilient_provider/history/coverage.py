"""Which part of a range the cached bars cover, what is still missing, and the merge of a
fetched piece into them.

The cache keeps, per (symbol, interval), the bars and the :class:`Segment` s of time they
cover: each a range ``[start_s, end_s)`` that a provider was asked for and answered, with when
(``fetched_at``). Bars starting before ``final_until_s`` had ended when fetched (a bar's period
over is final); the rest of a segment -- the bar still forming then, and for a segment that
reached its fetch time, whatever bars have started since -- counts only while the segment is
fresh: younger than the interval's ``fresh_for_s`` (:func:`fresh_for_s`). After that, that
part is missing again and is fetched anew; the final part never is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .intervals import INTERVAL_SECONDS, is_intraday

if TYPE_CHECKING:
    import pandas as pd

Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Segment:
    """A range of time the cached bars cover, as one provider answered it at ``fetched_at``
    (epoch seconds); bars starting before ``final_until_s`` were final then; ``to_now``: the
    range reached the time it was asked (nothing later could be known then)."""

    start_s: float
    end_s: float
    fetched_at: float
    provider: str
    final_until_s: float
    to_now: bool = False

    @classmethod
    def fetched(cls, start_s: float, end_s: float, *, fetched_at: float, provider: str,
                interval: str, to_now: bool = False) -> Segment:
        """The segment of a range fetched at ``fetched_at``: every bar that started a whole
        bar length before then had ended."""
        final_until = min(end_s, fetched_at - INTERVAL_SECONDS[interval])
        return cls(start_s, end_s, fetched_at, provider, max(start_s, final_until), to_now)

    def covers(self, now: float, fresh_for_s: float) -> Range:
        """The range this segment vouches for at epoch ``now``."""
        if now - self.fetched_at < fresh_for_s:
            # Fresh: all of it, and past its end if it reached the time it was asked.
            return self.start_s, (math.inf if self.to_now else self.end_s)
        return self.start_s, self.final_until_s


def fresh_for_s(interval: str, forming_fresh_for_s: float) -> float:
    """How long a segment's forming part counts as fresh: ``forming_fresh_for_s``, and for
    intraday bars at most one bar's length (a 1m bar is stale after a minute)."""
    if is_intraday(interval):
        return min(forming_fresh_for_s, INTERVAL_SECONDS[interval])
    return forming_fresh_for_s


def missing_ranges(segments: Sequence[Segment], start_s: float, end_s: float, *, now: float,
                   fresh_for: float) -> list[Range]:
    """The parts of ``[start_s, end_s)`` the ``segments`` do not vouch for at ``now``."""
    covered = sorted(s.covers(now, fresh_for) for s in segments)
    missing: list[Range] = []
    cursor = start_s
    for begin, finish in covered:
        if finish <= cursor or begin >= end_s:
            continue
        if begin > cursor:
            missing.append((cursor, min(begin, end_s)))
        cursor = max(cursor, finish)
        if cursor >= end_s:
            break
    if cursor < end_s:
        missing.append((cursor, end_s))
    return missing


def newest_overlap(segments: Sequence[Segment], start_s: float, end_s: float) -> Segment | None:
    """The segment that covers the latest part of ``[start_s, end_s)``, or None."""
    touching = [s for s in segments if s.start_s < end_s and s.end_s > start_s]
    return max(touching, key=lambda s: (s.end_s, s.fetched_at), default=None)


def merge_segments(segments: Sequence[Segment], new: Segment) -> tuple[Segment, ...]:
    """``segments`` with ``new`` laid over them (what it covers is cut out of the older ones),
    adjacent all-final segments joined so the list stays short."""
    kept: list[Segment] = []
    for old in segments:
        if old.end_s <= new.start_s or old.start_s >= new.end_s:
            kept.append(old)
            continue
        if old.start_s < new.start_s:
            kept.append(replace(old, end_s=new.start_s, to_now=False,
                                final_until_s=min(old.final_until_s, new.start_s)))
        if old.end_s > new.end_s:
            kept.append(replace(old, start_s=new.end_s,
                                final_until_s=max(new.end_s, old.final_until_s)))
    kept.append(new)
    kept.sort(key=lambda s: s.start_s)
    joined: list[Segment] = []
    for segment in kept:
        last = joined[-1] if joined else None
        if (last is not None and last.end_s == segment.start_s
                and last.final_until_s == last.end_s
                and segment.final_until_s == segment.end_s):
            joined[-1] = replace(segment, start_s=last.start_s,
                                 fetched_at=max(last.fetched_at, segment.fetched_at))
        else:
            joined.append(segment)
    return tuple(joined)


def merge_bars(old: pd.DataFrame, new: pd.DataFrame, start_s: float,
               end_s: float) -> pd.DataFrame:
    """``old`` bars with those starting in ``[start_s, end_s)`` (or at a time ``new`` has)
    replaced by ``new``; in ``new``'s time zone, sorted."""
    import pandas as pd  # imported here: pandas takes a second to import

    if old.empty:
        return new.sort_index()
    tz = new.index.tz if isinstance(new.index, pd.DatetimeIndex) and not new.empty \
        else old.index.tz  # type: ignore[attr-defined]
    old = old.tz_convert(tz)
    stamps = old.index.asi8 / _per_second(old.index)  # type: ignore[attr-defined]
    outside = (stamps < start_s) | (stamps >= end_s)
    keep: pd.DataFrame = old[outside & ~old.index.isin(new.index)]
    if new.empty:
        return keep
    merged: pd.DataFrame = pd.concat([keep, new.tz_convert(tz)]).sort_index()
    return merged


def _per_second(index: pd.Index) -> float:
    unit = str(getattr(index, "unit", "ns"))
    return {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
