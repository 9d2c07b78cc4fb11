"""Tagged answers as pandas DataFrames, and the flat rows that CSV, Parquet and the table share.

Two shapes: :func:`results_frame` (``batch_get_ticker_info(as_frame=True)``) keeps every info
field any answer had; :func:`flat_rows` / :func:`flat_frame` keep the documented core fields
only, so every row has the same columns (:data:`FLAT_COLUMNS`). Both end in the tags of
:data:`~resilient_provider.result.TAG_COLUMNS`. pandas is imported inside the functions that
need it: it takes a second to import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .providers.canonical import CORE_FIELDS
from .result import TAG_COLUMNS, FetchResult

if TYPE_CHECKING:
    import pandas as pd

#: The columns of a flat row: the core fields (``symbol`` first), then the tags.
FLAT_COLUMNS: tuple[str, ...] = (*CORE_FIELDS, *TAG_COLUMNS)


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


def flat_frame(results: Sequence[FetchResult]) -> pd.DataFrame:
    """:func:`flat_rows` as a DataFrame with a plain index (the shape of the Parquet output)."""
    import pandas as pd  # imported here: pandas takes a second to import

    return pd.DataFrame(flat_rows(results), columns=list(FLAT_COLUMNS))


def results_frame(results: Mapping[Any, FetchResult]) -> pd.DataFrame:
    """A DataFrame indexed by symbol (as asked): every info field any answer had, then tags.

    The info dict's own ``symbol`` field is left to the index; fields an answer lacks are NaN.
    """
    import pandas as pd  # imported here: pandas takes a second to import

    records = []
    fields: dict[str, None] = {}
    for result in results.values():
        record = {k: v for k, v in (result.data or {}).items() if k != "symbol"}
        fields.update(dict.fromkeys(record))
        record.update(result.tags())
        records.append(record)
    index = pd.Index(list(results), name="symbol")
    return pd.DataFrame.from_records(records, index=index, columns=[*fields, *TAG_COLUMNS])
