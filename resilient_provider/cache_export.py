"""The cache's rows (:class:`~.cache_tools.CacheRecord`) written out: JSON lines, JSON or CSV.

* ``jsonl``: one JSON object per row (:meth:`~.cache_tools.CacheRecord.to_dict`, the cached
  info dict under ``data``), the format to stream or ``grep``;
* ``json``: the same objects as one list;
* ``csv``: one row each, the columns of :data:`CSV_COLUMNS`: the row's own fields, then the
  documented core fields of its data (empty for a negative-cache row or a missing field).

The format follows the file's extension (``.jsonl``, ``.json``, ``.csv``); any other is refused
with the allowed list, never written in some other format.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TextIO

from .cache_tools import CacheRecord
from .providers.canonical import CORE_FIELDS

ExportFormat = Literal["jsonl", "json", "csv"]

#: The formats, by the file extension that selects them.
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("jsonl", "json", "csv")

#: The columns of the CSV export.
CSV_COLUMNS: tuple[str, ...] = ("symbol", "kind", "status", "provider", "fetched_at", "age_s",
                                *(field for field in CORE_FIELDS if field != "symbol"))


def format_of(path: str | os.PathLike[str]) -> ExportFormat:
    """The export format named by ``path``'s extension.

    Raises:
        ValueError: the extension is none of ``.jsonl``, ``.json``, ``.csv`` (the message
            names it and lists them).
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in EXPORT_FORMATS:
        allowed = ", ".join(f".{name}" for name in EXPORT_FORMATS)
        shown = f".{suffix}" if suffix else "no extension"
        raise ValueError(f"cannot export to {os.fspath(path)!r}: {shown} is not a cache export "
                         f"format; use {allowed}")
    return suffix


def write_records(records: Sequence[CacheRecord], stream: TextIO, fmt: ExportFormat) -> None:
    """Write ``records`` to ``stream`` as ``fmt``."""
    if fmt == "jsonl":
        for record in records:
            stream.write(json.dumps(record.to_dict(), default=str) + "\n")
    elif fmt == "json":
        json.dump([r.to_dict() for r in records], stream, indent=2, default=str)
        stream.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        for record in records:
            row = {**(record.data or {}), **record.to_dict(with_data=False)}
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    else:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")


def export_records(records: Sequence[CacheRecord], path: str | os.PathLike[str]) -> int:
    """Write ``records`` to the file ``path`` in the format its extension names; how many.

    Raises:
        ValueError: the extension names no export format (nothing is written).
        OSError: the file cannot be written.
    """
    fmt = format_of(path)
    with open(path, "w", encoding="utf-8", newline="") as stream:
        write_records(records, stream, fmt)
    return len(records)
