"""Reading a list of symbols from a file: plain text (one per line) or CSV (a symbol column).

The items come back as written (stripped of surrounding blanks), not validated: the batch
reports a bad symbol as an error row for that symbol, like any other failure.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TextIO

#: Header names (any case) that mark the symbol column of a CSV file.
SYMBOL_COLUMNS = ("symbol", "ticker", "symbols", "tickers")


class SymbolsFileError(ValueError):
    """The symbols file is missing, unreadable, or lists no symbols."""


def read_symbols(source: Path | TextIO) -> list[str]:
    """The symbols listed in ``source``, in file order.

    Plain text: one symbol per line; blank lines and lines starting with ``#`` are skipped.
    CSV (a ``.csv`` name, or a first line with a comma, semicolon, tab or ``|``): the column headed
    ``symbol`` or ``ticker`` (any case), else the first column of every row. The delimiter
    (``,``, ``;``, tab or ``|``) is sniffed from the first lines, so a spreadsheet's
    semicolon-separated export reads like any other.

    Raises:
        SymbolsFileError: the file cannot be read, is not text, or lists no symbol.
    """
    name = str(source) if isinstance(source, Path) else "standard input"
    try:
        text = (source.read_text(encoding="utf-8-sig") if isinstance(source, Path)
                else source.read())
    except FileNotFoundError:
        raise SymbolsFileError(f"symbols file not found: {name}") from None
    except UnicodeDecodeError:
        raise SymbolsFileError(f"{name} is not UTF-8 text") from None
    except OSError as exc:
        raise SymbolsFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    lines = [line for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    is_csv = (isinstance(source, Path) and source.suffix.lower() == ".csv") or (
        bool(lines) and any(mark in lines[0] for mark in DELIMITERS))
    symbols = _from_csv(lines) if is_csv else [line.strip() for line in lines]
    if not symbols:
        raise SymbolsFileError(f"no symbols in {name}")
    return symbols


#: The delimiters a symbols CSV may use (the sniffer picks among them).
DELIMITERS = ",;\t|"


def sniff_dialect(lines: list[str]) -> type[csv.Dialect] | csv.Dialect:
    """The CSV dialect of ``lines`` (from the first 20), sniffed among :data:`DELIMITERS`;
    plain comma-separated when the sniffer cannot tell (one column, say)."""
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=DELIMITERS)
    except csv.Error:
        return csv.excel


def _from_csv(lines: list[str]) -> list[str]:
    rows = [row for row in csv.reader(io.StringIO("\n".join(lines)), sniff_dialect(lines))
            if row]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(name) for name in SYMBOL_COLUMNS if name in header), None)
    if column is not None:
        rows = rows[1:]
    column = column or 0
    return [row[column].strip() for row in rows if len(row) > column and row[column].strip()]
