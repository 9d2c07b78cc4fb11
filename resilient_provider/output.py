"""Tagged answers rendered for people (a table) and for programs (JSON, CSV, Parquet).

Used by the CLI; kept apart so the command module only parses arguments and picks an exit code.
The table is drawn with rich (aligned columns, wrapping to the terminal, plain text when piped).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .config import format_duration
from .frames import FLAT_COLUMNS, flat_frame, flat_rows
from .result import FetchResult


def write_parquet(results: Sequence[FetchResult], path: Path) -> None:
    """The CSV columns (core fields, then tags) as a Parquet file; needs pyarrow.

    Raises:
        ModuleNotFoundError: pyarrow is not installed (``pip install
            'resilient-provider[parquet]'``).
    """
    flat_frame(results).to_parquet(path, engine="pyarrow", index=False)


def write_json(results: Sequence[FetchResult], stream: TextIO) -> None:
    """Every tagged answer in full (all fields the source sent), as one JSON list."""
    json.dump([r.to_tagged_dict() for r in results], stream, indent=2, default=str)
    stream.write("\n")


def write_csv(results: Sequence[FetchResult], stream: TextIO) -> None:
    """One CSV row per symbol: core fields then tags (empty cell for None)."""
    writer = csv.DictWriter(stream, fieldnames=FLAT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in flat_rows(results):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})


def table_label(field: str) -> str:
    """The name the table shows for a field or tag: ``_data_source`` as ``data_source``."""
    return field.lstrip("_")


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


def write_table(results: Sequence[FetchResult], stream: TextIO, *,
                width: int | None = None) -> None:
    """A field-by-symbol table: core fields and tags as rows, one column per symbol."""
    from rich.console import Console  # imported here so JSON/CSV output stays light
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("field", style="dim", no_wrap=True)
    for result in results:
        table.add_column(result.symbol, overflow="fold")
    flat = flat_rows(results)
    for field in FLAT_COLUMNS:
        if field == "symbol":  # the column headers
            continue
        table.add_row(table_label(field), *(_cell(field, row[field]) for row in flat))
    console = Console(file=stream, width=width or _width(stream), highlight=False,
                      soft_wrap=False)
    console.print(table)


def _width(stream: TextIO) -> int | None:
    return None if stream.isatty() else 160

