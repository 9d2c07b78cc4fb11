"""A history request: periods, dates and intervals checked and resolved to [start, end) UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from resilient_provider.history.request import InvalidHistoryRequestError, resolve_request

NOW = datetime(2024, 3, 31, 15, 30, tzinfo=UTC)


def resolve(**kwargs: object) -> tuple[datetime, datetime]:
    request = resolve_request(now=NOW.timestamp(), **kwargs)  # type: ignore[arg-type]
    return request.start, request.end


def test_a_period_counts_calendar_months_back_from_the_clock() -> None:
    assert resolve(period="1mo") == (datetime(2024, 2, 29, 15, 30, tzinfo=UTC), NOW)
    assert resolve(period="1y")[0] == datetime(2023, 3, 31, 15, 30, tzinfo=UTC)
    assert resolve(period="5d")[0] == NOW - timedelta(days=5)


def test_ytd_starts_on_the_first_of_january_and_max_reaches_99_years_for_daily_bars() -> None:
    assert resolve(period="ytd")[0] == datetime(2024, 1, 1, tzinfo=UTC)
    assert resolve(period="max")[0].year == 1925


def test_max_for_1m_bars_is_what_one_request_may_ask() -> None:
    start, end = resolve(period="max", interval="1m")
    assert timedelta(days=7) < end - start <= timedelta(days=8)


def test_dates_are_midnight_utc_naive_times_are_utc_and_aware_ones_are_converted() -> None:
    assert resolve(start=date(2024, 1, 2), end="2024-01-05") == (
        datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC))
    assert resolve(start=datetime(2024, 1, 2, 9))[0] == datetime(2024, 1, 2, 9, tzinfo=UTC)
    eastern = timezone(timedelta(hours=-5))
    assert resolve(start=datetime(2024, 1, 2, 9, tzinfo=eastern))[0] == datetime(
        2024, 1, 2, 14, tzinfo=UTC)


def test_neither_period_nor_dates_is_the_last_month() -> None:
    assert resolve() == (datetime(2024, 2, 29, 15, 30, tzinfo=UTC), NOW)


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"period": "2w"}, "'2w'"),
    ({"interval": "2h"}, "'2h'"),
    ({"adjust": "dividends"}, "'dividends'"),
    ({"start": "yesterday"}, "'yesterday'"),
    ({"start": 20240101}, "20240101"),
    ({"period": "1y", "start": "2024-01-01"}, "'1y'"),
    ({"start": "2024-02-01", "end": "2024-01-01"}, "2024-02-01"),
    ({"start": "2025-01-01"}, "in the future"),
    ({"start": "2023-01-01", "interval": "5m"}, "too far back for interval 5m"),
    ({"start": "2024-03-15", "interval": "1m"}, "too long for interval 1m"),
])
def test_bad_input_raises_a_value_error_naming_the_value(kwargs: dict[str, object],
                                                        named: str) -> None:
    with pytest.raises(InvalidHistoryRequestError) as caught:
        resolve(**kwargs)
    assert isinstance(caught.value, ValueError)
    assert named in str(caught.value)
