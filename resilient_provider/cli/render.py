"""What the commands print or write: tagged answers as a table, JSON, CSV or Parquet, and the
health report as a table.

Kept apart so the command modules only parse arguments and pick an exit code. Tables are drawn
with rich (aligned columns, wrapping to the terminal, plain text when piped); the tabular
shapes and the tag names come from :mod:`resilient_provider.frames` and
:mod:`resilient_provider.result`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..config import format_duration
from ..frames import FLAT_COLUMNS, file_frame, flat_rows, write_frame_csv
from ..result import FetchResult

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ..health import HealthReport


def write_parquet(results: Sequence[FetchResult], path: Path) -> None:
    """The CSV's columns and rows (:data:`~resilient_provider.frames.FILE_COLUMNS`, with the
    dtypes of the frame schema) as a Parquet file; needs pyarrow.

    Raises:
        ModuleNotFoundError: pyarrow is not installed (``pip install
            'resilient-provider[parquet]'``).
    """
    file_frame(results).to_parquet(path, engine="pyarrow", index=False)


def write_json(results: Sequence[FetchResult], stream: TextIO) -> None:
    """Every tagged answer in full (all fields the source sent), as one JSON list."""
    json.dump([r.to_tagged_dict() for r in results], stream, indent=2, default=str)
    stream.write("\n")


def write_csv(results: Sequence[FetchResult], stream: TextIO) -> None:
    """One CSV row per symbol in the frame schema's columns
    (:data:`~resilient_provider.frames.FILE_COLUMNS`: core fields, ``ticker``, then tags):
    times as ISO 8601 UTC, integers without a decimal point, an empty cell when missing."""
    write_frame_csv(file_frame(results), stream)


def table_label(field: str) -> str:
    """The name the table shows for a field or tag: ``_data_source`` as ``data_source``."""
    return field.lstrip("_")


def write_table(results: Sequence[FetchResult], stream: TextIO, *,
                width: int | None = None) -> None:
    """A field-by-symbol table: core fields and tags as rows, one column per symbol."""
    table = _table()
    table.add_column("field", style="dim", no_wrap=True)
    for result in results:
        table.add_column(result.symbol, overflow="fold")
    flat = flat_rows(results)
    for field in FLAT_COLUMNS:
        if field == "symbol":  # the column headers
            continue
        table.add_row(table_label(field), *(_cell(field, row[field]) for row in flat))
    _console(stream, width).print(table)


def write_health_table(report: HealthReport, stream: TextIO, *, width: int | None = None,
                       ) -> None:
    """One row per check: name, kind, status, latency, detail or error code; then the
    overall status."""
    table = _table()
    for column in ("check", "kind", "status", "latency"):
        table.add_column(column, no_wrap=True, justify="right" if column == "latency" else "left")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        detail = f"{check.error_code}: {check.detail}" if check.error_code else check.detail
        table.add_row(check.name, check.kind, check.status, f"{check.latency_ms:.0f} ms", detail)
    console = _console(stream, width)
    console.print(table)
    console.print(f"overall: {report.status} (probe symbol {report.probe_symbol})")


def _table() -> Table:
    """The house table: bold header, no box, no padding at the edges."""
    from rich.table import Table  # imported here so JSON/CSV output stays light

    return Table(show_header=True, header_style="bold", box=None, pad_edge=False)


def _console(stream: TextIO, width: int | None) -> Console:
    """A console on ``stream``: the terminal's width, else 160 columns when piped."""
    from rich.console import Console

    return Console(file=stream, width=width or (None if stream.isatty() else 160),
                   highlight=False, soft_wrap=False)


def _cell(field: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field == "marketCap" and isinstance(value, int | float):
        return _compact(float(value))
    if field == "dividendYield" and isinstance(value, int | float):
        return f"{value * 100:.2f}%"
    if field == "_age_s" and isinstance(value, int | float):
        return format_duration(float(value))
    if field == "_latency_ms" and isinstance(value, int | float):
        return f"{value:.0f} ms"
    if isinstance(value, float):
        return f"{value:,.2f}" if math.isfinite(value) else str(value)
    return str(value)


def _compact(value: float) -> str:
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6)):
        if abs(value) >= size:
            return f"{value / size:.2f}{unit}"
    return f"{value:,.0f}"
