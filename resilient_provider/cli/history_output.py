"""What ``history`` prints and writes: a summary table and each symbol's last bars, the tagged
answers with their bars as JSON, or every bar in one long CSV, JSON or Parquet file.

Times: the table and JSON show each bar's start in its exchange's time zone (ISO 8601 with
the offset in JSON and files, so a daily bar keeps its date); Parquet stores them in UTC, one
type for the whole column (as ``batch_get_history``'s long frame).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..config import format_duration
from ..history.bars import BAR_COLUMNS, BAR_DTYPES
from ..history.intervals import is_intraday
from ..history.result import HistoryResult
from .render import house_console, house_table, plural, print_wrapped

if TYPE_CHECKING:
    import pandas as pd

#: The columns of a bars file, in order.
FILE_COLUMNS: tuple[str, ...] = ("symbol", "timestamp", *BAR_COLUMNS)

_SUMMARY_COLUMNS = (("symbol", "left"), ("source", "left"), ("provider", "left"),
                    ("stale", "left"), ("bars", "right"), ("first", "left"), ("last", "left"),
                    ("last close", "right"), ("return", "right"), ("age", "right"),
                    ("latency", "right"), ("error", "left"))

_ADJUSTED = {"splits_dividends": "adjusted for splits and dividends",
             "splits": "adjusted for splits", "none": "unadjusted (as traded)"}


def write_history_table(results: Sequence[HistoryResult], stream: TextIO, *, bars: int,
                        width: int | None = None) -> None:
    """One summary row per symbol (source, provider, stale, bars, first and last bar, last
    close, total return over the range from ``adj_close``, age, latency, error code), then
    the error messages, then each symbol's last ``bars`` bars (none when 0)."""
    console = house_console(stream, width)
    # Above the table, not its title: a title wraps at the table's width, often narrower.
    console.print(_title(results), style="bold", markup=False)
    table = house_table()
    for column, justify in _SUMMARY_COLUMNS:
        table.add_column(column, no_wrap=True, justify=justify)  # type: ignore[arg-type]
    for result in results:
        table.add_row(*_summary_row(result))
    console.print(table)
    for result in results:
        if result.error is not None:
            print_wrapped(console, f"{result.symbol}: {result.error.message}", indent="    ")
    for result in results:
        if bars and not result.frame.empty:
            console.print()
            console.print(_bars_table(result, bars))


def _title(results: Sequence[HistoryResult]) -> str:
    if not results:
        return "price history: no symbols"
    request = results[0].request
    span = f"{request.start:%Y-%m-%d %H:%M} to {request.end:%Y-%m-%d %H:%M} UTC"
    if request.period is not None:
        span = f"period {request.period} ({span})"
    return (f"price history: {plural(len(results), 'symbol')}, {request.interval} bars, "
            f"{span}, {_ADJUSTED[request.adjust]}")


def _summary_row(result: HistoryResult) -> list[str]:
    frame = result.frame
    intraday = is_intraday(result.request.interval)
    first = last = close = change = "-"
    if not frame.empty:
        first, last = (_when(frame.index[0], intraday), _when(frame.index[-1], intraday))
        close = _price(float(frame["close"].iloc[-1]))
        # From adj_close, whatever the adjustment: a split is no loss, a dividend no gain.
        adjusted = frame["adj_close"]
        if len(frame) > 1 and float(adjusted.iloc[0]) > 0:
            change = f"{float(adjusted.iloc[-1]) / float(adjusted.iloc[0]) - 1:+.2%}"
    return [result.symbol, result.source.value, result.provider or "-",
            "yes" if result.is_stale else "no", f"{len(frame):,}", first, last, close, change,
            format_duration(result.age_s) if result.age_s is not None else "-",
            f"{result.latency_ms:.0f} ms", result.error_code or "-"]


def _bars_table(result: HistoryResult, count: int) -> Any:
    frame = result.frame.tail(count)
    tz = str(getattr(result.frame.index, "tz", None) or "UTC")
    total = plural(len(result.frame), "bar")
    shown = total if count >= len(result.frame) else f"last {count} of {total}"
    table = house_table(title=f"{result.symbol}: {shown} ({tz})")
    intraday = is_intraday(result.request.interval)
    table.add_column("time" if intraday else "date", no_wrap=True)
    for column in BAR_COLUMNS:
        table.add_column(column, no_wrap=True, justify="right")
    for stamp, row in frame.iterrows():
        table.add_row(_when(stamp, intraday, zone=False),
                      *(_bar_cell(column, row[column]) for column in BAR_COLUMNS))
    return table


def _when(stamp: Any, intraday: bool, *, zone: bool = True) -> str:
    if not intraday:
        return f"{stamp:%Y-%m-%d}"
    return f"{stamp:%Y-%m-%d %H:%M %Z}" if zone else f"{stamp:%Y-%m-%d %H:%M}"


def _bar_cell(column: str, value: Any) -> str:
    if value is None or _missing(value):
        return "-"
    if column == "volume":
        return f"{int(value):,}"
    if column == "dividends":
        return f"{float(value):g}" if value else "-"
    if column == "splits":
        ratio = float(value)
        return "-" if ratio <= 0 else f"{ratio:g}:1" if ratio >= 1 else f"1:{1 / ratio:g}"
    return _price(float(value))


def _price(value: float) -> str:
    """Two decimals, four under 10 (FX rates), six under 0.01."""
    if not math.isfinite(value):
        return str(value)
    digits = 2 if abs(value) >= 10 else 4 if abs(value) >= 0.01 else 6
    return f"{value:,.{digits}f}"


def write_history_json(results: Sequence[HistoryResult], stream: TextIO) -> None:
    """Every answer as one JSON list: symbol, ticker, the request (interval, adjust, period,
    start, end in UTC), the exchange's time zone, the tags, and ``bars`` (one object per
    bar, ``timestamp`` ISO 8601 with the exchange's offset; missing values null)."""
    json.dump([_tagged(r) for r in results], stream, indent=2)
    stream.write("\n")


def _tagged(result: HistoryResult) -> dict[str, Any]:
    request = result.request
    return {
        "symbol": result.symbol, "ticker": result.ticker, "interval": request.interval,
        "adjust": request.adjust, "period": request.period,
        "start": request.start.isoformat(), "end": request.end.isoformat(),
        "timezone": str(getattr(result.frame.index, "tz", None) or "UTC"),
        **result.tags(),
        "bars": [{k: v for k, v in row.items() if k != "symbol"} for row in _rows(result)],
    }


def _rows(result: HistoryResult) -> list[dict[str, Any]]:
    """``result``'s bars as plain dicts in :data:`FILE_COLUMNS` (JSON-ready)."""
    rows = []
    for stamp, values in zip(result.frame.index, result.frame.itertuples(index=False),
                             strict=True):
        row: dict[str, Any] = {"symbol": result.symbol, "timestamp": stamp.isoformat()}
        for column, value in zip(BAR_COLUMNS, values, strict=True):
            row[column] = None if _missing(value) else (
                int(value) if column == "volume" else float(value))
        rows.append(row)
    return rows


def _missing(value: Any) -> bool:
    """None, NaN or pandas' NA."""
    return value is None or type(value).__name__ == "NAType" or (
        isinstance(value, float) and math.isnan(value))


def write_bars_file(results: Sequence[HistoryResult], fmt: str, path: Path) -> None:
    """Every bar of ``results`` in one long file of :data:`FILE_COLUMNS`, symbols in order.

    ``csv``: ISO 8601 timestamps with the exchange's offset, empty cells for missing values;
    ``json``: a list of row objects, the same timestamps; ``parquet``: timestamps in UTC,
    ``symbol`` a string, the bar columns with the bar frame's dtypes (needs pyarrow).

    Raises:
        ModuleNotFoundError: pyarrow is not installed (parquet).
        OSError: the file cannot be written.
    """
    if fmt == "parquet":
        bars_frame(results).to_parquet(path, engine="pyarrow", index=False)
        return
    rows = [row for result in results for row in _rows(result)]
    with open(path, "w", encoding="utf-8", newline="") as stream:
        if fmt == "json":
            json.dump(rows, stream, indent=1)
            stream.write("\n")
            return
        import csv

        writer = csv.DictWriter(stream, fieldnames=FILE_COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)


def bars_frame(results: Sequence[HistoryResult]) -> pd.DataFrame:
    """Every bar of ``results`` as one frame of :data:`FILE_COLUMNS` (a plain index,
    timestamps in UTC)."""
    import pandas as pd  # imported here: pandas takes a second to import

    parts = []
    for result in results:
        frame = result.frame.tz_convert("UTC").reset_index()
        frame.insert(0, "symbol", result.symbol)
        parts.append(frame)
    if not parts:
        return pd.DataFrame({"symbol": pd.Series([], dtype="string"),
                             "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
                             **{c: pd.Series([], dtype=BAR_DTYPES[c]) for c in BAR_COLUMNS}})
    frame = pd.concat(parts, ignore_index=True)
    return frame.astype({"symbol": "string", **BAR_DTYPES})[list(FILE_COLUMNS)]
