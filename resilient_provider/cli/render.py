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
    table = house_table()
    table.add_column("field", style="dim", no_wrap=True)
    for result in results:
        table.add_column(result.symbol, overflow="fold")
    flat = flat_rows(results)
    for field in FLAT_COLUMNS:
        if field == "symbol":  # the column headers
            continue
        table.add_row(table_label(field), *(_cell(field, row[field]) for row in flat))
    house_console(stream, width).print(table)


#: The health table's columns before the detail, with their alignment.
_HEALTH_COLUMNS = (("check", "left"), ("kind", "left"), ("status", "left"),
                   ("latency", "right"))


def write_health_table(report: HealthReport, stream: TextIO, *, width: int | None = None,
                       ) -> None:
    """One row per check: name, kind, status, latency, detail or error code; then the
    overall status.

    The detail wraps at spaces only, never inside a word (an error's URL stays whole): when
    its longest word does not fit beside the other columns, the details follow the table,
    one check per paragraph, each on the whole width.
    """
    console = house_console(stream, width)
    rows = [(check.name, check.kind, check.status, f"{check.latency_ms:.0f} ms")
            for check in report.checks]
    details = [f"{check.error_code}: {check.detail}" if check.error_code else check.detail
               for check in report.checks]
    beside = console.width - sum(  # what the other columns and the gaps between them take
        max([len(name), *(len(row[i]) for row in rows)]) + 2
        for i, (name, _) in enumerate(_HEALTH_COLUMNS))
    inline = longest_word(details) <= beside
    table = house_table()
    for column, justify in _HEALTH_COLUMNS:
        table.add_column(column, no_wrap=True, justify=justify)  # type: ignore[arg-type]
    if inline:
        table.add_column("detail")
    for row, detail in zip(rows, details, strict=True):
        table.add_row(*row, *([detail] if inline else []))
    console.print(table)
    if not inline:
        for check, detail in zip(report.checks, details, strict=True):
            print_wrapped(console, f"{check.name}: {detail}", indent="    ")
    console.print(f"overall: {report.status} (probe symbol {report.probe_symbol})",
                  markup=False)


def house_table(*, title: str | None = None, caption: str | None = None) -> Table:
    """The one table style of every command (info, batch, stats, health, demo): bold header,
    no box, no padding at the edges; ``title`` above in bold, ``caption`` below."""
    from rich.table import Table  # imported here so JSON/CSV output stays light

    return Table(show_header=True, header_style="bold", box=None, pad_edge=False,
                 title=title, title_style="bold", title_justify="left",
                 caption=caption, caption_style="", caption_justify="left")


def house_console(stream: TextIO, width: int | None = None) -> Console:
    """A console on ``stream`` for tables: the terminal's width, else 160 columns when piped.

    A closed pipe raises BrokenPipeError, which the command line turns into its quiet exit 141
    (rich would exit 1 on its own)."""
    from rich.console import Console

    console = Console(file=stream, width=width or (None if stream.isatty() else 160),
                      highlight=False, soft_wrap=False)
    console.on_broken_pipe = _broken_pipe  # type: ignore[method-assign]
    return console


def _broken_pipe() -> None:
    raise BrokenPipeError("the reader of standard output has gone")


def longest_word(texts: Sequence[str]) -> int:
    """The length of the longest space-separated word in ``texts`` (0 for none)."""
    return max((len(word) for text in texts for word in text.split()), default=0)


def print_wrapped(console: Console, text: str, *, indent: str = "") -> None:
    """``text`` wrapped to the console's width at spaces only: a word longer than a line
    stays whole on a line of its own; later lines start with ``indent``."""
    import textwrap

    lines = textwrap.wrap(text, width=console.width, subsequent_indent=indent,
                          break_long_words=False, break_on_hyphens=False)
    for line in lines or [""]:
        console.print(line, markup=False, soft_wrap=True)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 symbol"``, ``"2 symbols"``, ``"1,024 requests"``: the count and the word that
    agrees with it."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {word}"


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
