"""Bar intervals in time: how long a bar lasts, when one has ended, how far back Yahoo serves.

Yahoo's chart serves intraday bars only for a recent window (1m: the last 30 days, 8 days per
request; 2m to 90m: the last 60 days; 1h/60m: the last 730 days); daily and longer bars go
back to the listing. A bar whose period has ended is final; the one still forming changes until
its period ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .bars import INTERVALS

DAY_S = 86_400.0

#: Nominal length of one bar, in seconds (a month as 31 days, a quarter as 92: upper bounds,
#: so a bar is never taken for ended before it has).
INTERVAL_SECONDS: dict[str, float] = {
    "1m": 60.0, "2m": 120.0, "5m": 300.0, "15m": 900.0, "30m": 1800.0, "60m": 3600.0,
    "90m": 5400.0, "1h": 3600.0, "1d": DAY_S, "5d": 5 * DAY_S, "1wk": 7 * DAY_S,
    "1mo": 31 * DAY_S, "3mo": 92 * DAY_S,
}
assert set(INTERVAL_SECONDS) == set(INTERVALS)

#: How far back Yahoo serves each intraday interval, and the longest range one request may ask.
LOOKBACK_S: dict[str, float] = {
    "1m": 30 * DAY_S, "2m": 60 * DAY_S, "5m": 60 * DAY_S, "15m": 60 * DAY_S,
    "30m": 60 * DAY_S, "90m": 60 * DAY_S, "60m": 730 * DAY_S, "1h": 730 * DAY_S,
}
MAX_SPAN_S: dict[str, float] = {"1m": 8 * DAY_S}


def is_intraday(interval: str) -> bool:
    """Whether bars of ``interval`` are shorter than a day."""
    return INTERVAL_SECONDS[interval] < DAY_S


def bar_end(start: datetime, interval: str) -> datetime:
    """When the bar of ``interval`` that starts at ``start`` (tz-aware) ends: calendar months
    for ``1mo``/``3mo``, whole days in the bar's own time zone for daily and weekly bars."""
    if interval in ("1mo", "3mo"):
        months = 1 if interval == "1mo" else 3
        index = start.month - 1 + months
        return start.replace(year=start.year + index // 12, month=index % 12 + 1, day=1)
    if is_intraday(interval):
        return start + timedelta(seconds=INTERVAL_SECONDS[interval])
    # Wall-clock days (a DST change makes one 23 or 25 hours long).
    naive = start.replace(tzinfo=None) + timedelta(seconds=INTERVAL_SECONDS[interval])
    return naive.replace(tzinfo=start.tzinfo)
