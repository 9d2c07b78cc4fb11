"""Batch frames keep one schema: the same columns and dtypes whatever the answers were, a
``symbol`` column beside the ``ticker`` index, and the same in the CSV and Parquet outputs."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from resilient_provider.cli.render import write_csv, write_parquet
from resilient_provider.errors import ProviderUnavailableError, SymbolNotFoundError
from resilient_provider.frame_schema import FRAME_SCHEMA, INFO_COLUMNS
from resilient_provider.frames import FILE_COLUMNS, file_frame, frame_from_csv, results_frame
from resilient_provider.providers.canonical import CORE_FIELDS
from resilient_provider.result import DataSource, FetchResult
from resilient_provider.testing import ScriptedProvider, make_info
from tests.conftest import MakeFacade

MARKET_TIME = 1_740_171_602  # 2025-02-21T21:00:02Z
FETCHED_AT = 1_767_225_600.25  # 2026-01-01T00:00:00.250Z


def info(symbol: str, **overrides: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"regularMarketTime": MARKET_TIME,
                                "regularMarketVolume": 43_711_015, "averageVolume": 37_689_734,
                                "sharesOutstanding": 12_080_387_231}
    return make_info(symbol, **{**extra, **overrides})


def answer(symbol: str, **overrides: Any) -> FetchResult:
    return FetchResult(symbol=symbol, source=DataSource.PRIMARY, data=info(symbol, **overrides),
                       provider="one", fetched_at=FETCHED_AT, age_s=0.0, latency_ms=12.5)


FAILED = FetchResult(symbol="NOPE", source=DataSource.ERROR, latency_ms=3.0,
                     error=SymbolNotFoundError("no such symbol", symbol="NOPE"))


def cell(frame: pd.DataFrame, row: str, column: str) -> Any:
    """One value of ``frame`` (typed Any: pandas-stubs type a cell as a union of everything)."""
    return frame.loc[row, column]


def dtypes(frame: pd.DataFrame, columns: object = None) -> dict[str, str]:
    names = list(frame.columns) if columns is None else list(columns)  # type: ignore[call-overload]
    return {str(name): str(frame[name].dtype) for name in names}


def test_the_schema_starts_with_the_core_fields_and_ends_with_the_tags() -> None:
    assert list(FRAME_SCHEMA)[:len(CORE_FIELDS)] == list(CORE_FIELDS)
    assert list(FRAME_SCHEMA)[-8:] == list(FILE_COLUMNS)[-8:]
    assert FRAME_SCHEMA["marketCap"] == "Int64" and FRAME_SCHEMA["_fetched_at"].endswith("UTC]")


def test_an_all_error_batch_keeps_every_schema_column_with_its_dtype(
        make_facade: MakeFacade) -> None:
    down = ProviderUnavailableError("down")
    facade = make_facade(ScriptedProvider("one", {"AAPL": down, "MSFT": down}))
    frame = facade.batch_get_ticker_info(["AAPL", "MSFT", "not a symbol!"], as_frame=True)
    assert list(frame.columns) == list(FRAME_SCHEMA)  # no answer had any other field
    assert dtypes(frame) == FRAME_SCHEMA
    assert frame["marketCap"].isna().all()
    weights = frame["marketCap"] / frame["marketCap"].sum()  # does not raise
    assert weights.isna().all()
    assert list(frame["_error_code"]) == ["provider_unavailable", "provider_unavailable",
                                          "invalid_symbol"]


def test_an_empty_batch_is_an_empty_frame_in_the_schema(make_facade: MakeFacade) -> None:
    frame = make_facade(ScriptedProvider("one")).batch_get_ticker_info([], as_frame=True)
    assert frame.empty and dtypes(frame) == FRAME_SCHEMA


def test_the_frame_has_the_schema_dtypes_whatever_the_answers() -> None:
    frame = results_frame({"AAPL": answer("AAPL"), "NOPE": FAILED})
    assert dtypes(frame, FRAME_SCHEMA) == FRAME_SCHEMA
    assert cell(frame, "AAPL", "regularMarketTime") == pd.Timestamp(MARKET_TIME, unit="s", tz="UTC")
    assert cell(frame, "AAPL", "_fetched_at") == pd.Timestamp("2026-01-01T00:00:00.250Z")
    assert pd.isna(cell(frame, "NOPE", "_fetched_at")) and pd.isna(cell(frame, "NOPE", "marketCap"))
    assert cell(frame, "AAPL", "marketCap") == info("AAPL")["marketCap"]  # exact, an int
    assert cell(frame, "AAPL", "sharesOutstanding") == 12_080_387_231


def test_an_integer_field_sent_as_a_float_is_an_integer_in_the_frame() -> None:
    frame = results_frame([answer("AAPL", marketCap=1.7e12, regularMarketVolume="oops")])
    assert cell(frame, "AAPL", "marketCap") == 1_700_000_000_000
    assert str(frame["marketCap"].dtype) == "Int64"
    assert pd.isna(cell(frame, "AAPL", "regularMarketVolume"))  # a value that does not fit


def test_the_symbol_column_is_the_normalised_symbol_beside_the_ticker_as_given(
        make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))
    frame = facade.batch_get_ticker_info(["aapl", "AAPL", " msft", "not a symbol!"],
                                         as_frame=True)
    assert frame.index.name == "ticker"
    assert list(frame.index) == ["aapl", "AAPL", " msft", "not a symbol!"]
    assert list(frame["symbol"].fillna("-")) == ["AAPL", "AAPL", "MSFT", "-"]
    assert frame.groupby("symbol").size().to_dict() == {"AAPL": 2, "MSFT": 1}


def test_fields_outside_the_schema_are_kept_with_dtypes_read_from_them() -> None:
    etf = answer("SPY", quoteType="ETF", ytdReturn=0.05, exDividendDate=MARKET_TIME,
                 firstTradeDateMilliseconds=MARKET_TIME * 1000, fullTimeEmployees=10.0,
                 tradeable=False, companyOfficers=[])
    frame = results_frame([answer("AAPL"), etf, FAILED])
    extras = [c for c in frame.columns if c not in FRAME_SCHEMA]
    assert extras == ["ytdReturn", "exDividendDate", "firstTradeDateMilliseconds",
                      "fullTimeEmployees", "tradeable", "companyOfficers"]
    assert list(frame.columns[:len(INFO_COLUMNS)]) == list(INFO_COLUMNS)  # schema first
    assert list(frame.columns[-8:]) == list(FILE_COLUMNS[-8:])  # tags last
    assert dtypes(frame, extras) == {
        "ytdReturn": "float64", "exDividendDate": "datetime64[ns, UTC]",
        "firstTradeDateMilliseconds": "datetime64[ns, UTC]", "fullTimeEmployees": "Int64",
        "tradeable": "boolean", "companyOfficers": "object"}
    assert cell(frame, "SPY", "firstTradeDateMilliseconds") == cell(frame, "SPY", "exDividendDate")
    assert list(results_frame([etf], all_fields=False).columns) == list(FRAME_SCHEMA)


def test_csv_and_parquet_hold_the_same_columns_and_dtypes(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    results = [answer("AAPL"), answer("MSFT").with_ticker("msft"), FAILED]
    out = io.StringIO()
    write_csv(results, out)
    write_parquet(results, tmp_path / "out.parquet")
    from_csv = frame_from_csv(io.StringIO(out.getvalue()))
    from_parquet = pd.read_parquet(tmp_path / "out.parquet")
    expected = file_frame(results)
    assert list(expected.columns) == list(FILE_COLUMNS)
    assert dtypes(expected) == {**dict.fromkeys(FILE_COLUMNS, "string"), **FRAME_SCHEMA}
    pd.testing.assert_frame_equal(from_parquet, expected)
    pd.testing.assert_frame_equal(from_csv, expected)
    assert list(expected["ticker"]) == ["AAPL", "msft", "NOPE"]


def test_csv_times_are_iso_8601_utc_and_integers_have_no_decimal_point() -> None:
    out = io.StringIO()
    write_csv([answer("AAPL"), FAILED], out)
    live, failed = csv.DictReader(io.StringIO(out.getvalue()))
    assert live["regularMarketTime"] == "2025-02-21T21:00:02.000+00:00"
    assert live["_fetched_at"] == "2026-01-01T00:00:00.250+00:00"
    assert live["marketCap"] == str(info("AAPL")["marketCap"])
    assert live["regularMarketVolume"] == "43711015"
    assert failed["_fetched_at"] == failed["marketCap"] == ""
    assert failed["symbol"] == "NOPE" and failed["_error_code"] == "symbol_not_found"
