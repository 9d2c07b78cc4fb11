"""When a generated symbol trades: its market's days and hours, in the exchange's time zone.

Three calendars, as Yahoo's chart shows them:

* ``sessions``: stocks, ETFs, funds and indices trade Monday to Friday within regular hours
  (New York 09:30-16:00, London 08:00-16:30, XETRA 09:00-17:30, …); a daily bar is stamped at
  the session's open (AAPL 2020-01-02: ``1577975400``, 09:30 New York).
* ``24x5``: currencies (London) and futures (New York) trade round the clock Monday to Friday;
  a daily bar is stamped at local midnight (EURUSD=X: 00:00 London; GC=F: 00:00 New York).
* ``24x7``: crypto trades every day, a day being 00:00-24:00 UTC (BTC-USD).

Public holidays are not modelled: every weekday is a trading day (Yahoo's EURUSD=X has a bar
on 2020-01-01 too, its equities do not).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

#: Regular hours (minutes after local midnight) per exchange time zone; others: New York's.
_HOURS = {
    "America/New_York": (570, 960), "America/Toronto": (570, 960),
    "Europe/London": (480, 990), "Europe/Berlin": (540, 1050), "Europe/Paris": (540, 1050),
    "Europe/Oslo": (540, 980), "Europe/Istanbul": (600, 1080), "Asia/Tokyo": (540, 900),
}
#: Minutes per intraday interval Yahoo accepts.
INTRADAY_MINUTES = {"1m": 1, "2m": 2, "5m": 5, "15m": 15, "30m": 30, "60m": 60, "90m": 90,
                    "1h": 60}
#: Daily and longer intervals.
DAILY_INTERVALS = ("1d", "5d", "1wk", "1mo", "3mo")
_DAY_MIN = 1440


@lru_cache(maxsize=64)
def zone(tz_name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for ``tz_name`` (cached)."""
    return ZoneInfo(tz_name)


@dataclass(frozen=True)
class Market:
    """A trading calendar: ``kind`` is ``sessions``, ``24x5`` or ``24x7``."""

    tz_name: str
    kind: str
    open_min: int
    close_min: int

    @property
    def tz(self) -> ZoneInfo:
        """The exchange's time zone."""
        return zone(self.tz_name)

    def trades_on(self, day: dt.date) -> bool:
        """Whether ``day`` (a local date) is a trading day."""
        return self.kind == "24x7" or day.weekday() < 5

    def trading_days(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """The trading days from ``first`` to ``last``, both included."""
        days = []
        day = first
        while day <= last:
            if self.trades_on(day):
                days.append(day)
            day += dt.timedelta(days=1)
        return days

    def previous_trading_day(self, day: dt.date) -> dt.date:
        """The last trading day before ``day``."""
        day -= dt.timedelta(days=1)
        while not self.trades_on(day):
            day -= dt.timedelta(days=1)
        return day

    def latest_trading_day(self, day: dt.date) -> dt.date:
        """``day`` if it trades, else the last trading day before it."""
        return day if self.trades_on(day) else self.previous_trading_day(day)

    def at(self, day: dt.date, minute: int) -> int:
        """Epoch seconds of ``minute`` minutes after local midnight of ``day``."""
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)
        return int((midnight + dt.timedelta(minutes=minute)).timestamp())

    def session(self, day: dt.date) -> tuple[int, int]:
        """(open, close) epoch seconds of ``day``'s regular session."""
        return self.at(day, self.open_min), self.at(day, self.close_min)

    def daily_stamp(self, day: dt.date) -> int:
        """Where Yahoo stamps ``day``'s daily bar: the session's open."""
        return self.at(day, self.open_min)

    def local_date(self, epoch_s: float) -> dt.date:
        """The local date at ``epoch_s``."""
        return dt.datetime.fromtimestamp(epoch_s, self.tz).date()

    def zone_fields(self, epoch_s: float) -> tuple[str, int]:
        """(abbreviation, offset in seconds) of the exchange's zone at ``epoch_s``."""
        local = dt.datetime.fromtimestamp(epoch_s, self.tz)
        offset = local.utcoffset()
        return local.tzname() or self.tz_name, int(offset.total_seconds()) if offset else 0


def market_for(quote_type: str, tz_name: str) -> Market:
    """The calendar a symbol of ``quote_type`` listed in ``tz_name`` trades on."""
    if quote_type == "CRYPTOCURRENCY":
        return Market("UTC", "24x7", 0, _DAY_MIN)
    if quote_type in ("CURRENCY", "FUTURE"):
        return Market(tz_name, "24x5", 0, _DAY_MIN)
    open_min, close_min = _HOURS.get(tz_name, _HOURS["America/New_York"])
    return Market(tz_name, "sessions", open_min, close_min)


def period_start(day: dt.date, interval: str) -> dt.date:
    """The first day of the ``1wk`` / ``1mo`` / ``3mo`` bar that ``day`` falls in."""
    if interval == "1wk":
        return day - dt.timedelta(days=day.weekday())
    if interval == "1mo":
        return day.replace(day=1)
    if interval == "3mo":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    raise ValueError(f"not a calendar-period interval: {interval!r}")


def months_back(day: dt.date, months: int) -> dt.date:
    """``day`` moved ``months`` calendar months back (the day clamped to the month's length)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")
