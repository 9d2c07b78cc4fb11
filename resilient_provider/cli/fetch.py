"""``info`` and ``batch``: fetch symbols through the fallback chain and print or write them."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, InvalidSymbolError
from .cache import add_offline_option, open_provider_for
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    PARQUET_INSTALL,
    add_config_option,
    fail,
)

if TYPE_CHECKING:
    from ..result import FetchResult

#: Output formats of ``batch``, each named by its file extension.
FORMATS = ("csv", "json", "parquet")


def register(commands: Any) -> None:
    """Add the ``info`` and ``batch`` sub-commands."""
    info = commands.add_parser(
        "info", help="fetch ticker info through the fallback chain and print it",
        description="Fetches each SYMBOL through the configured providers and caches and prints "
                    "the core fields with where each answer came from. Exit code 0 when every "
                    "symbol got data (live or cached), 1 when any did not, 2 on bad input or "
                    "configuration.")
    info.add_argument("symbols", nargs="+", metavar="SYMBOL", help="ticker symbols, e.g. AAPL")
    output = info.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print the full tagged answers as JSON")
    output.add_argument("--csv", action="store_true", help="print one CSV row per symbol")
    add_refresh_option(info)
    add_offline_option(info)
    add_config_option(info)
    info.set_defaults(run=run_info)

    batch = commands.add_parser(
        "batch", help="fetch every symbol listed in a file and write CSV, JSON or Parquet",
        description="Reads symbols from FILE (one per line, # comments; or a CSV file, using "
                    "its 'symbol' or 'ticker' column, else the first) and fetches them as one "
                    "batch: duplicates once, bad symbols reported as error rows. Exit code 0 "
                    "when every symbol got data (live or cached), 1 when any did not, 2 on bad "
                    "input or configuration.")
    batch.add_argument("file", metavar="FILE", help="the symbols file; - reads standard input")
    batch.add_argument("-o", "--output", metavar="PATH",
                       help="write here instead of standard output (required for parquet)")
    batch.add_argument("--format", choices=FORMATS,
                       help="output format (default: from the --output extension, .csv, "
                            ".json or .parquet; another extension is refused; csv when there "
                            f"is none); parquet needs pyarrow: {PARQUET_INSTALL}")
    batch.add_argument("--no-progress", action="store_true",
                       help="no progress bar (it is shown only on a terminal anyway)")
    add_refresh_option(batch)
    add_offline_option(batch)
    add_config_option(batch)
    batch.set_defaults(run=run_batch)


def add_refresh_option(parser: argparse.ArgumentParser) -> None:
    """``--refresh``: the façade's ``refresh=True``."""
    parser.add_argument("--refresh", action="store_true",
                        help="ask the providers even for symbols Yahoo confirmed unknown (the "
                             "negative cache) or, with cache.read_through, with a fresh entry")


def run_info(args: argparse.Namespace) -> int:
    """``resilient-provider info SYMBOL...``; after Ctrl-C, the answers so far, exit 130."""
    from ..symbols import normalize_symbol
    from .render import write_csv, write_json, write_table

    fmt = "json" if args.json else "csv" if args.csv else "table"
    try:
        wanted = list(dict.fromkeys(normalize_symbol(s) for s in args.symbols))
        provider = open_provider_for(args)
    except (InvalidSymbolError, ConfigError) as exc:
        return fail(str(exc))
    results: list[FetchResult] = []
    interrupted = False
    with provider:
        try:
            for symbol in wanted:
                results.append(provider.fetch(symbol, refresh=args.refresh))
        except KeyboardInterrupt:
            interrupted = True
    writer = {"json": write_json, "csv": write_csv, "table": write_table}[fmt]
    writer(results, sys.stdout)
    if interrupted:
        return _interrupted(len(results), len(wanted))
    return EXIT_OK if all(r.success for r in results) else EXIT_SOME_FAILED


def run_batch(args: argparse.Namespace) -> int:
    """``resilient-provider batch FILE``; after Ctrl-C, the answers so far, exit 130."""
    from ..strategy.batch import BatchInterrupted
    from .render import plural
    from .symbols_file import SymbolsFileError, read_symbols

    fmt = args.format or _format_of(args.output)
    if fmt is None:
        return fail(f"cannot tell which format to write to {args.output}: give it one of the "
                    f"extensions {', '.join('.' + f for f in FORMATS)}, or --format "
                    f"{{{','.join(FORMATS)}}}")
    if fmt == "parquet" and not args.output:
        return fail("--format parquet writes a file: give it with --output PATH")
    # Checked before fetching, so a long batch is never fetched only to be thrown away.
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        return fail(f"pyarrow is needed for parquet output: {PARQUET_INSTALL}")
    if args.output and not Path(args.output).resolve().parent.is_dir():
        return fail(f"cannot write {args.output}: its directory does not exist")
    try:
        symbols = read_symbols(sys.stdin if args.file == "-" else Path(args.file))
        provider = open_provider_for(args)
    except (SymbolsFileError, ConfigError) as exc:
        return fail(str(exc))
    started = time.perf_counter()
    stopped: BatchInterrupted | None = None
    with provider:
        try:
            results = list(provider.batch_fetch(
                symbols, progress=False if args.no_progress else None,
                refresh=args.refresh).values())
        except BatchInterrupted as stop:  # Ctrl-C: write what was answered by then
            stopped, results = stop, list(stop.results.values())
    try:
        _write(results, fmt, args.output)
    except ModuleNotFoundError as exc:
        return fail(f"{exc.name} is needed for {fmt} output: {PARQUET_INSTALL}")
    except OSError as exc:
        return fail(f"cannot write {args.output}: {exc.strerror or exc}")
    if stopped is not None:
        return _interrupted(len(results), len(results) + len(stopped.missing))
    mix = Counter(r.source.value for r in results)
    print(f"{plural(len(results), 'symbol')} in {time.perf_counter() - started:.1f}s: "
          + ", ".join(f"{count} {source}" for source, count in mix.most_common()),
          file=sys.stderr)
    return EXIT_OK if all(r.success for r in results) else EXIT_SOME_FAILED


def _interrupted(answered: int, wanted: int) -> int:
    """Say on stderr how much an interrupted command wrote; the exit code after Ctrl-C."""
    from .render import plural

    print(f"resilient-provider: interrupted: wrote the answers for {answered} of "
          f"{plural(wanted, 'symbol')}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _format_of(output: str | None) -> str | None:
    """The format the extension of ``output`` names; csv without an output or an extension;
    None for an extension that names no format we write (``.xlsx``)."""
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    if not suffix:
        return "csv"
    return suffix if suffix in FORMATS else None


def _write(results: list[FetchResult], fmt: str, output: str | None) -> None:
    from .render import write_csv, write_json, write_parquet

    if fmt == "parquet":
        assert output is not None
        write_parquet(results, Path(output))
        return
    writer = write_json if fmt == "json" else write_csv
    if output is None:
        writer(results, sys.stdout)
        return
    with open(output, "w", encoding="utf-8", newline="") as stream:
        writer(results, stream)
