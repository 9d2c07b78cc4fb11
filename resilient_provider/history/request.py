"""What a history request asks for, checked and resolved to one ``[start, end)`` UTC range.

A request names either a ``period`` (Yahoo's: ``1d 5d 1mo 3mo 6mo 1y 2y 5y 10y ytd max``),
counted back from the façade's clock, or ``start`` and/or ``end``: a :class:`~datetime.date`
(midnight UTC of that day), a :class:`~datetime.datetime` or an ISO 8601 string; a naive time
is taken as UTC. ``start`` alone runs to now, ``end`` alone starts one month before it (as
yfinance does). Periods count calendar months and years; ``ytd`` starts on 1 January (UTC) and
``max`` 99 years back for daily and longer bars, as far as Yahoo serves for intraday ones.

Bad input raises :class:`InvalidHistoryRequestError` (a ``ValueError``) naming the value,
before any I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args

from ..errors import ResilientProviderError
from ..redaction import safe_repr
from .bars import INTERVALS
from .intervals import DAY_S, INTERVAL_SECONDS, LOOKBACK_S, MAX_SPAN_S

#: Yahoo's ``range`` values.
PERIODS: tuple[str, ...] = ("1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd",
                            "max")

Adjust = Literal["splits_dividends", "splits", "none"]

#: How prices are adjusted (see :mod:`.adjust`).
ADJUSTMENTS: tuple[str, ...] = get_args(Adjust)

_PERIOD_MONTHS = {"1mo": 1, "3mo": 3, "6mo": 6, "1y": 12, "2y": 24, "5y": 60, "10y": 120}
_PERIOD_DAYS = {"1d": 1, "5d": 5}
_MAX_DAILY_S = 99 * 365.25 * DAY_S

DateLike = date | datetime | str


class InvalidHistoryRequestError(ResilientProviderError, ValueError):
    """A history request's period, dates, interval or adjustment is not one we can ask for;
    raised before any I/O."""

    code = "invalid_history_request"
    hint = ("Pass period= (1d 5d 1mo 3mo 6mo 1y 2y 5y 10y ytd max) or start=/end= (dates, "
            "datetimes or ISO strings), an interval of INTERVALS and adjust= one of "
            "splits_dividends, splits, none.")


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """A checked request: bars of ``interval`` starting in ``[start, end)`` (UTC), adjusted
    per ``adjust``; ``period`` as asked, if one was; ``to_now``: the range runs up to the time
    it is answered (a period, or no end or one not in the past), not to a fixed end."""

    start: datetime
    end: datetime
    interval: str
    adjust: Adjust = "splits_dividends"
    period: str | None = None
    to_now: bool = False

    @property
    def start_s(self) -> float:
        """``start`` as epoch seconds."""
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        """``end`` as epoch seconds."""
        return self.end.timestamp()


def resolve_request(*, period: str | None = None, start: DateLike | None = None,
                    end: DateLike | None = None, interval: str = "1d",
                    adjust: str = "splits_dividends", now: float) -> HistoryRequest:
    """The :class:`HistoryRequest` these arguments ask for at epoch ``now``; raises
    :class:`InvalidHistoryRequestError` naming the first bad value."""
    if not isinstance(interval, str) or interval not in INTERVALS:
        raise InvalidHistoryRequestError(
            f"invalid interval {safe_repr(interval, 40)}: expected one of {', '.join(INTERVALS)}")
    if not isinstance(adjust, str) or adjust not in ADJUSTMENTS:
        raise InvalidHistoryRequestError(
            f"invalid adjust {safe_repr(adjust, 40)}: expected one of {', '.join(ADJUSTMENTS)}")
    moment = datetime.fromtimestamp(now, tz=UTC)
    if period is not None:
        if start is not None or end is not None:
            raise InvalidHistoryRequestError(
                f"period={safe_repr(period, 20)} with start/end: give a period or dates, not both")
        if not isinstance(period, str) or period not in PERIODS:
            raise InvalidHistoryRequestError(
                f"invalid period {safe_repr(period, 40)}: expected one of {', '.join(PERIODS)}")
        begin, finish = _period_start(period, moment, interval), moment
    else:
        finish = _as_utc(end, "end") if end is not None else moment
        # No start: one month before the end (yfinance's default).
        begin = _as_utc(start, "start") if start is not None else _months_before(finish, 1)
    if begin > moment:
        raise InvalidHistoryRequestError(f"start {begin.isoformat()} is in the future")
    if begin >= finish:
        raise InvalidHistoryRequestError(
            f"empty range: start {begin.isoformat()} is not before end {finish.isoformat()}")
    _check_intraday_reach(interval, begin, finish, moment)
    return HistoryRequest(start=begin, end=finish, interval=interval,
                          adjust=adjust,  # type: ignore[arg-type]  # checked above
                          period=period, to_now=finish >= moment)


def _check_intraday_reach(interval: str, begin: datetime, finish: datetime,
                          moment: datetime) -> None:
    lookback_s = LOOKBACK_S.get(interval)
    if lookback_s is not None and (moment - begin).total_seconds() > lookback_s:
        raise InvalidHistoryRequestError(
            f"start {begin.isoformat()} is too far back for interval {interval}: Yahoo serves "
            f"{interval} bars for the last {lookback_s / DAY_S:g} days only")
    span_s = MAX_SPAN_S.get(interval)
    if span_s is not None and (finish - begin).total_seconds() > span_s:
        raise InvalidHistoryRequestError(
            f"range {begin.isoformat()} to {finish.isoformat()} is too long for interval "
            f"{interval}: at most {span_s / DAY_S:g} days per request")


def _period_start(period: str, moment: datetime, interval: str) -> datetime:
    if period == "ytd":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == "max":
        reach_s = LOOKBACK_S.get(interval, _MAX_DAILY_S)
        reach_s = min(reach_s, MAX_SPAN_S.get(interval, reach_s))
        # A bar's length short of the limit: the request must not reach past it.
        return moment - timedelta(seconds=reach_s - INTERVAL_SECONDS[interval])
    if period in _PERIOD_DAYS:
        return moment - timedelta(days=_PERIOD_DAYS[period])
    return _months_before(moment, _PERIOD_MONTHS[period])


def _months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day when
    that month is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    for day in range(moment.day, 27, -1):  # 31 March minus one month: 28/29 February
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month + 1)


def _as_utc(value: object, name: str) -> datetime:
    """``value`` (a date, datetime or ISO 8601 string) as a tz-aware UTC datetime."""
    if isinstance(value, str):
        try:
            parsed: date = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidHistoryRequestError(
                f"invalid {name} {safe_repr(value, 40)}: not an ISO 8601 date or time "
                "(e.g. '2024-01-31' or '2024-01-31T14:30:00+00:00')") from None
        value = parsed
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise InvalidHistoryRequestError(
        f"invalid {name} {safe_repr(value, 40)}: expected a date, datetime or ISO 8601 string, "
        f"got {type(value).__name__}")
