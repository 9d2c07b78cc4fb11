"""Tagged answers as pandas DataFrames, in the fixed schema of :mod:`.frame_schema`, and the
CSV text of one; plus the flat rows the CLI's table draws.

* :func:`results_frame` (``batch_get_ticker_info(as_frame=True)``): indexed by ``ticker`` (each
  item as given), the columns of :data:`~.frame_schema.FRAME_SCHEMA` always, with their dtypes
  (an all-error batch keeps them: ``frame["marketCap"]`` is all ``<NA>``, not a KeyError), and
  every other info field any answer had, between the schema's info columns and the tags.
  Those extra columns come and go with the answers (a field only ETFs have, none in an
  outage); code that needs a stable shape selects ``list(FRAME_SCHEMA)``.
* :func:`file_frame`: the schema's columns only, ``ticker`` as a column before the tags
  (:data:`FILE_COLUMNS`), a plain index: what the CSV and Parquet outputs hold, so a file has
  the same columns every run. :func:`write_frame_csv` writes datetimes as ISO 8601 UTC text and
  :func:`frame_from_csv` reads such a file back with the same dtypes.
* :func:`flat_rows` / :data:`FLAT_COLUMNS`: the core fields and tags as plain Python values,
  one dict per answer, for the table.

pandas is imported inside the functions that need it: it takes a second to import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from .errors import InvalidSymbolError
from .frame_schema import (
    FRAME_SCHEMA,
    INDEX_NAME,
    INFO_COLUMNS,
    STRING,
    column,
    inferred_dtype,
)
from .providers.canonical import CORE_FIELDS
from .result import TAG_COLUMNS, FetchResult, iso_utc

if TYPE_CHECKING:
    import pandas as pd

#: The columns of the table's flat rows: the core fields (``symbol`` first), then the tags.
FLAT_COLUMNS: tuple[str, ...] = (*CORE_FIELDS, *TAG_COLUMNS)

#: The columns of the CSV and Parquet outputs: the schema's, ``ticker`` just before the tags.
FILE_COLUMNS: tuple[str, ...] = (*INFO_COLUMNS, INDEX_NAME, *TAG_COLUMNS)


def flat_rows(results: Sequence[FetchResult]) -> list[dict[str, Any]]:
    """One row per answer with the :data:`FLAT_COLUMNS` (None where an answer has no value)."""
    out = []
    for result in results:
        data = result.data or {}
        row = {field: data.get(field) for field in CORE_FIELDS}
        row["symbol"] = result.symbol
        row.update(result.tags())
        out.append(row)
    return out


def results_frame(results: Mapping[Any, FetchResult] | Iterable[FetchResult], *,
                  all_fields: bool = True) -> pd.DataFrame:
    """A DataFrame of ``results`` (a ``{item: FetchResult}`` or the results) in the fixed schema,
    indexed by ``ticker``; with ``all_fields`` also every other field any answer had."""
    import pandas as pd  # imported here: pandas takes a second to import

    answers = list(results.values() if isinstance(results, Mapping) else results)
    rows = [_row(result) for result in answers]
    extras: dict[str, None] = {}
    if all_fields:
        for result in answers:
            extras.update(dict.fromkeys(k for k in result.data or () if k not in FRAME_SCHEMA))
    columns: dict[str, Any] = {}
    for name in (*INFO_COLUMNS, *extras, *TAG_COLUMNS):
        values = [row.get(name) for row in rows]
        dtype = FRAME_SCHEMA.get(name) or inferred_dtype(name, values)
        columns[name] = column(name, values, dtype)
    index = pd.Index([r.ticker or r.symbol for r in answers], dtype=STRING, name=INDEX_NAME)
    return pd.DataFrame(columns, index=index)


def file_frame(results: Iterable[FetchResult]) -> pd.DataFrame:
    """The schema's columns of ``results`` as :data:`FILE_COLUMNS`, with a plain index: the
    rows of the CSV and Parquet outputs."""
    frame = results_frame(results, all_fields=False).reset_index()
    return frame[list(FILE_COLUMNS)]


def write_frame_csv(frame: pd.DataFrame, stream: IO[str]) -> None:
    """``frame`` as CSV on ``stream``: datetimes as ISO 8601 UTC text
    (``2026-01-02T03:04:05.678+00:00``), missing values as empty cells."""
    import pandas as pd

    text = frame.copy(deep=False)
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype):
            text[name] = pd.array([None if pd.isna(stamp) else iso_utc(stamp.timestamp())
                                   for stamp in frame[name]], dtype=STRING)
    text.to_csv(stream, index=False, lineterminator="\n")


def frame_from_csv(source: Any) -> pd.DataFrame:
    """A CSV written by :func:`write_frame_csv` (a path or a text stream) read back with the
    schema's dtypes (columns outside the schema as text)."""
    import pandas as pd

    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    return pd.DataFrame({name: column(str(name), list(raw[name]),
                                      FRAME_SCHEMA.get(str(name), STRING))
                         for name in raw.columns})


def _row(result: FetchResult) -> dict[str, Any]:
    """``result``'s values by column: its data, the normalised symbol, the tags (with
    ``_fetched_at`` as epoch seconds, for a datetime column)."""
    row = dict(result.data or {})
    row["symbol"] = None if isinstance(result.error, InvalidSymbolError) else result.symbol
    row.update(result.tags())
    row["_fetched_at"] = result.fetched_at
    return row
