"""The fixed schema of a batch frame: which columns, in which order, with which pandas dtype.

:data:`FRAME_SCHEMA` is the contract of ``batch_get_ticker_info(as_frame=True)`` and of the
CSV/Parquet outputs: these columns are always there, whatever the answers were (an all-error
batch included), each with its dtype; a value an answer lacks is missing (NaN, ``<NA>``,
``NaT``). The index, named ``ticker``, is each item as the caller spelled it; the ``symbol``
column is the normalised symbol (missing for an item that is no symbol), so ``"aapl"`` and
``"AAPL"`` are two rows with one ``symbol``.

Dtypes: ``string`` (pandas' nullable ``StringDtype``) for text, ``float64`` for prices and
ratios, ``Int64`` (nullable integers) where Yahoo means integers (market cap, volumes, share
counts, analyst counts), ``datetime64[ns, UTC]`` for Yahoo's epoch-seconds fields and for
``_fetched_at``, ``bool`` for ``_is_stale``. Fields outside the schema that an answer had keep
a dtype read from their values (:func:`inferred_dtype`): known epoch fields become UTC
datetimes, known integer fields ``Int64``.

The converters take Python values as providers give them, and the text of a CSV cell too, so a
CSV read back (:func:`~resilient_provider.frames.frame_from_csv`) gets the same dtypes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from .providers.canonical import CORE_FIELDS
from .result import TAG_COLUMNS

STRING: Final = "string"
FLOAT: Final = "float64"
INT: Final = "Int64"
UTC_TIME: Final = "datetime64[ns, UTC]"
BOOL: Final = "bool"

#: Core fields Yahoo sends as integers (the others are typed from :data:`CORE_FIELDS`).
_INTEGER_CORE = frozenset({"marketCap", "numberOfAnalystOpinions"})

#: Fields beyond the core set that the schema holds too: the quote's time and its volumes.
EXTRA_SCHEMA_FIELDS: dict[str, str] = {
    "regularMarketTime": UTC_TIME,
    "regularMarketVolume": INT,
    "averageVolume": INT,
    "sharesOutstanding": INT,
}


def _core_dtype(field: str) -> str:
    if field in _INTEGER_CORE:
        return INT
    return STRING if CORE_FIELDS[field] == (str,) else FLOAT


#: The index's name: each item as the caller spelled it.
INDEX_NAME = "ticker"

#: Column -> dtype of a batch frame's fixed columns, in order: ``symbol`` and the core fields,
#: the extra schema fields, then the tags of :data:`~resilient_provider.result.TAG_COLUMNS`.
FRAME_SCHEMA: dict[str, str] = {
    **{field: _core_dtype(field) for field in CORE_FIELDS},
    **EXTRA_SCHEMA_FIELDS,
    "_data_source": STRING, "_provider": STRING, "_is_stale": BOOL, "_fetched_at": UTC_TIME,
    "_age_s": FLOAT, "_latency_ms": FLOAT, "_error_code": STRING, "error": STRING,
}

#: The info columns of the schema (everything before the tags).
INFO_COLUMNS: tuple[str, ...] = tuple(FRAME_SCHEMA)[:-len(TAG_COLUMNS)]

#: Yahoo fields in epoch seconds (a UTC datetime in a frame) and in epoch milliseconds.
EPOCH_S_FIELDS = frozenset({
    "regularMarketTime", "preMarketTime", "postMarketTime", "exDividendDate", "dividendDate",
    "lastDividendDate", "lastSplitDate", "lastFiscalYearEnd", "nextFiscalYearEnd",
    "mostRecentQuarter", "sharesShortPreviousMonthDate", "dateShortInterest",
    "governanceEpochDate", "compensationAsOfEpochDate", "earningsTimestamp",
    "earningsTimestampStart", "earningsTimestampEnd", "earningsCallTimestampStart",
    "earningsCallTimestampEnd", "fundInceptionDate", "startDate", "_fetched_at",
})
EPOCH_MS_FIELDS = frozenset({"firstTradeDateMilliseconds"})

#: Fields outside the schema that Yahoo sends as integer counts (``Int64`` in a frame).
INTEGER_FIELDS = frozenset({
    "volume", "averageVolume10days", "averageDailyVolume10Day", "averageDailyVolume3Month",
    "floatShares", "sharesShort", "sharesShortPriorMonth", "impliedSharesOutstanding",
    "fullTimeEmployees", "bidSize", "askSize", "enterpriseValue",
}) | _INTEGER_CORE | {f for f, d in EXTRA_SCHEMA_FIELDS.items() if d == INT}

#: Epoch seconds a ``datetime64[ns]`` holds (years 1678 to 2262); beyond it a value is missing.
_MAX_EPOCH_S = 9.2e9
_MAX_INT64 = 2**63 - 1


def inferred_dtype(field: str, values: Sequence[Any]) -> str:
    """The dtype of a column outside the schema: by its name for known epoch and integer
    fields, else by its values (all bool, all int, all numbers, all text; ``object`` for
    mixed or nested values; ``float64`` when every value is missing)."""
    if field in EPOCH_S_FIELDS or field in EPOCH_MS_FIELDS:
        return UTC_TIME
    if field in INTEGER_FIELDS:
        return INT
    present = [v for v in values if v is not None]
    if not present:
        return FLOAT
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return INT
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return FLOAT
    if all(isinstance(v, str) for v in present):
        return STRING
    return "object"


def column(field: str, values: Sequence[Any], dtype: str) -> Any:
    """``values`` (Python values, or CSV cell text) as an array of ``dtype``; a value that does
    not fit the dtype (text in a number column, an out-of-range time) is missing."""
    import numpy as np
    import pandas as pd

    if dtype == STRING:
        return pd.array([_text(v) for v in values], dtype=STRING)
    if dtype == FLOAT:
        return np.array([_number(v) for v in values], dtype=float)
    if dtype == INT:
        return pd.array([_integer(v) for v in values], dtype=INT)
    if dtype == UTC_TIME:
        scale = 1e-3 if field in EPOCH_MS_FIELDS else 1.0
        seconds = np.array([_epoch_s(v, scale) for v in values], dtype=float)
        return pd.to_datetime(seconds, unit="s", utc=True).as_unit("ns")
    if dtype in (BOOL, "boolean"):
        flags = [_flag(v) for v in values]
        if dtype == BOOL:
            return np.array([bool(f) for f in flags], dtype=bool)
        return pd.array(flags, dtype="boolean")
    return pd.array(list(values), dtype=object)


def _missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or _missing(value):
        return math.nan
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else math.nan
    if isinstance(value, str):
        try:
            return _number(float(value))
        except ValueError:
            return math.nan
    return math.nan


def _integer(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) <= _MAX_INT64 else None
    if isinstance(value, str):
        try:
            return _integer(int(value))
        except ValueError:
            pass
    number = _number(value)
    return round(number) if math.isfinite(number) and abs(number) <= _MAX_INT64 else None


def _epoch_s(value: Any, scale: float) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value and not _is_numeric_text(value):
        import pandas as pd

        try:
            stamp = pd.Timestamp(value)
        except ValueError:
            return math.nan
        if pd.isna(stamp):
            return math.nan
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        return float(stamp.timestamp())
    seconds = _number(value) * scale
    return seconds if abs(seconds) < _MAX_EPOCH_S else math.nan


def _is_numeric_text(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
