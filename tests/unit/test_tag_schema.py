"""One tag schema: the tagged dict, CSV, JSON, Parquet, the DataFrame and the table all name the
tags of :data:`TAG_COLUMNS`, in its order, with the values of :meth:`FetchResult.tags`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from resilient_provider.cli.render import (
    table_label,
    write_csv,
    write_json,
    write_parquet,
    write_table,
)
from resilient_provider.errors import SymbolNotFoundError
from resilient_provider.frames import FILE_COLUMNS, results_frame
from resilient_provider.providers.canonical import CORE_FIELDS
from resilient_provider.result import TAG_COLUMNS, DataSource, FetchResult
from resilient_provider.testing import make_info

LIVE = FetchResult(symbol="AAPL", source=DataSource.PRIMARY, data=make_info("AAPL"),
                   provider="one", fetched_at=1_767_225_600.25, age_s=0.0, latency_ms=12.34567)
STALE = FetchResult(symbol="MSFT", source=DataSource.CACHE_STALE, data=make_info("MSFT"),
                    provider="two", fetched_at=1_767_000_000.0, age_s=225_600.123456,
                    is_stale=True, latency_ms=0.98765)
FAILED = FetchResult(symbol="NOPE", source=DataSource.ERROR, latency_ms=3.21,
                     error=SymbolNotFoundError("no such symbol", symbol="NOPE"))
RESULTS = [LIVE, STALE, FAILED]


def test_tags_give_every_tag_column_in_order() -> None:
    for result in RESULTS:
        assert tuple(result.tags()) == TAG_COLUMNS


def test_tags_round_latency_and_age_to_3_decimals_and_time_as_iso_utc() -> None:
    tags = STALE.tags()
    assert (tags["_latency_ms"], tags["_age_s"]) == (0.988, 225_600.123)
    assert tags["_fetched_at"] == "2025-12-29T09:20:00.000+00:00"
    assert (tags["_error_code"], tags["error"]) == (None, None)
    failed = FAILED.tags()
    assert (failed["_data_source"], failed["_error_code"]) == ("error", "symbol_not_found")
    assert "no such symbol" in failed["error"]


def test_the_tagged_dicts_tags_are_tag_columns_with_the_same_values() -> None:
    for result in RESULTS:
        tagged = result.to_tagged_dict()
        own = {"symbol", "ticker"} if result.data is None else set(result.data)
        tag_names = [name for name in tagged if name not in own]
        assert set(tag_names) <= set(TAG_COLUMNS)
        assert {name: tagged[name] for name in tag_names} == \
            {name: result.tags()[name] for name in tag_names}


def test_the_csv_header_is_the_core_fields_then_the_schemas_then_the_tag_columns() -> None:
    out = io.StringIO()
    write_csv(RESULTS, out)
    header = next(csv.reader(io.StringIO(out.getvalue())))
    assert header == list(FILE_COLUMNS)
    assert header[:len(CORE_FIELDS)] == list(CORE_FIELDS)
    assert header[-len(TAG_COLUMNS):] == list(TAG_COLUMNS)


def test_the_csv_cells_are_the_tag_values() -> None:
    out = io.StringIO()
    write_csv(RESULTS, out)
    for row, result in zip(csv.DictReader(io.StringIO(out.getvalue())), RESULTS, strict=True):
        assert {name: row[name] for name in TAG_COLUMNS} == \
            {name: "" if value is None else str(value) for name, value in result.tags().items()}


def test_the_json_objects_are_the_tagged_dicts_with_tags_in_tag_column_order() -> None:
    out = io.StringIO()
    write_json(RESULTS, out)
    objects = json.loads(out.getvalue())
    assert objects == [r.to_tagged_dict() for r in RESULTS]
    for obj, result in zip(objects, RESULTS, strict=True):
        own = {"symbol", "ticker"} if result.data is None else set(result.data)
        tag_names = [name for name in obj if name not in own]
        assert set(tag_names) <= set(TAG_COLUMNS)
        if result.data is not None:
            assert tag_names == [name for name in TAG_COLUMNS if name in tag_names]


def test_the_dataframe_ends_in_the_tag_columns() -> None:
    frame = results_frame({r.symbol: r for r in RESULTS})
    assert tuple(frame.columns[-len(TAG_COLUMNS):]) == TAG_COLUMNS
    assert not set(frame.columns[:-len(TAG_COLUMNS)]) & set(TAG_COLUMNS)
    fetched_at: Any = frame.loc["MSFT", "_fetched_at"]  # a pd.Timestamp
    assert fetched_at.isoformat(timespec="milliseconds") == STALE.tags()["_fetched_at"]
    assert "no such symbol" in str(frame.loc["NOPE", "error"])


def test_the_parquet_file_ends_in_the_tag_columns(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    import pandas as pd

    path = tmp_path / "out.parquet"
    write_parquet(RESULTS, path)
    assert list(pd.read_parquet(path).columns) == list(FILE_COLUMNS)


def test_the_table_rows_end_in_the_tag_columns() -> None:
    out = io.StringIO()
    write_table(RESULTS, out, width=400)
    labels = [line.split()[0] for line in out.getvalue().splitlines() if line.strip()]
    assert labels[0] == "field"
    core = [table_label(f) for f in CORE_FIELDS if f != "symbol"]  # symbols head the columns
    assert labels[1:] == [*core, *(table_label(t) for t in TAG_COLUMNS)]
