"""The ``resilient-provider`` command."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import ConfigError, InvalidSymbolError
from .strategy.cascade import format_duration

if TYPE_CHECKING:
    from .facade import ResilientProvider
    from .result import FetchResult

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2

PARQUET_INSTALL = "pip install 'resilient-provider[parquet]'"

#: Environment variable naming the configuration file when --config is not given.
CONFIG_ENV = "RESILIENT_PROVIDER_CONFIG"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resilient-provider",
        description="Market data for tickers through a cascading fallback "
                    "(primary → secondary → fresh cache → stale cache → tagged error).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log to stderr: -v warnings (retries, breakers), -vv everything")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
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
    info.add_argument("--config", metavar="PATH", default=os.environ.get(CONFIG_ENV),
                      help=f"YAML configuration file (default: ${CONFIG_ENV}, "
                           "else built-in defaults with RESILIENT_PROVIDER_* env overrides)")
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
    batch.add_argument("--format", choices=("csv", "json", "parquet"),
                       help="output format (default: from the --output extension, else csv); "
                            f"parquet needs pyarrow: {PARQUET_INSTALL}")
    batch.add_argument("--no-progress", action="store_true",
                       help="no progress bar (it is shown only on a terminal anyway)")
    batch.add_argument("--config", metavar="PATH", default=os.environ.get(CONFIG_ENV),
                       help=f"YAML configuration file (default: ${CONFIG_ENV})")
    demo = commands.add_parser(
        "demo", help="walk through a scripted outage offline and show every data source",
        description="Runs the cascade over scripted providers and a fake clock: both sources "
                    "up, primary rate-limited, both down, three days later, an uncached symbol.")
    demo.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _cmd_demo(as_json: bool) -> int:
    from .demo import run_demo  # imported here so `--help` stays fast

    rows, stats = run_demo()
    if as_json:
        print(json.dumps({"answers": [{"phase": r.phase, **r.result.to_tagged_dict()}
                                      for r in rows], "stats": stats}, indent=2, default=str))
        return EXIT_OK
    header = f"{'phase':<26} {'symbol':<7} {'price':>9} {'source':<12} {'provider':<15} " \
             f"{'stale':<5} {'age':>9}  error"
    print(header)
    print("-" * len(header))
    for row in rows:
        r = row.result
        price = f"{r.data['regularMarketPrice']:.2f}" if r.data else "-"
        age = format_duration(r.age_s) if r.age_s is not None else "-"
        error = r.error.message if r.error else ""
        print(f"{row.phase:<26} {r.symbol:<7} {price:>9} {r.source.value:<12} "
              f"{r.provider or '-':<15} {'yes' if r.is_stale else 'no':<5} {age:>9}  {error}")
    print()
    print("reliability statistics:")
    for key in ("total_requests", "primary_success_rate", "fallback_usage_rate",
                "fresh_cache_usage_rate", "stale_cache_usage_rate", "error_rate",
                "uptime_estimate"):
        suffix = "" if key == "total_requests" else " %"
        print(f"  {key:<24} {stats[key]}{suffix}")
    providers = stats["providers"]
    assert isinstance(providers, dict)
    for name, view in providers.items():
        print(f"  {name}: calls {view['calls']}, successes {view['successes']}, "
              f"failures {view['failures']}, retries {view['retries']}, "
              f"breaker {view['breaker']['state']} (trips {view['breaker']['trips']})")
    return EXIT_OK


def _open_provider(config: str | None) -> ResilientProvider:
    """The façade from ``config`` (a YAML path), else the defaults; ConfigError if bad."""
    from .facade import ResilientProvider  # imported here: ``--help`` stays fast

    return ResilientProvider.from_config(config) if config else ResilientProvider()


def _cmd_info(symbols: Sequence[str], fmt: str, config: str | None) -> int:
    from .output import write_csv, write_json, write_table
    from .symbols import normalize_symbol

    try:
        wanted = list(dict.fromkeys(normalize_symbol(s) for s in symbols))
        provider = _open_provider(config)
    except (InvalidSymbolError, ConfigError) as exc:
        return _fail(str(exc))
    with provider:
        results = [provider.fetch(symbol) for symbol in wanted]
    writer = {"json": write_json, "csv": write_csv, "table": write_table}[fmt]
    writer(results, sys.stdout)
    return EXIT_OK if all(r.success for r in results) else EXIT_SOME_FAILED


def _fail(message: str) -> int:
    print(f"resilient-provider: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _cmd_batch(args: argparse.Namespace) -> int:
    from .symbols_file import SymbolsFileError, read_symbols

    fmt = args.format or _format_of(args.output)
    if fmt == "parquet" and not args.output:
        return _fail("--format parquet writes a file: give it with --output PATH")
    # Checked before fetching, so a long batch is never fetched only to be thrown away.
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        return _fail(f"pyarrow is needed for parquet output: {PARQUET_INSTALL}")
    if args.output and not Path(args.output).resolve().parent.is_dir():
        return _fail(f"cannot write {args.output}: its directory does not exist")
    try:
        symbols = read_symbols(sys.stdin if args.file == "-" else Path(args.file))
        provider = _open_provider(args.config)
    except (SymbolsFileError, ConfigError) as exc:
        return _fail(str(exc))
    started = time.perf_counter()
    with provider:
        results = list(provider.batch_fetch(
            symbols, progress=False if args.no_progress else None).values())
    try:
        _write(results, fmt, args.output)
    except ModuleNotFoundError as exc:
        return _fail(f"{exc.name} is needed for {fmt} output: {PARQUET_INSTALL}")
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}")
    mix = Counter(r.source.value for r in results)
    print(f"{len(results)} symbols in {time.perf_counter() - started:.1f}s: "
          + ", ".join(f"{count} {source}" for source, count in mix.most_common()),
          file=sys.stderr)
    return EXIT_OK if all(r.success for r in results) else EXIT_SOME_FAILED


def _format_of(output: str | None) -> str:
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in ("csv", "json", "parquet") else "csv"


def _write(results: list[FetchResult], fmt: str, output: str | None) -> None:
    from .output import write_csv, write_json, write_parquet

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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.ERROR, 1: logging.WARNING}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")
    if args.verbose < 2:
        # The adapters classify every failure yfinance logs as an ERROR on its own logger
        # (a 404 for an unknown symbol, a 500 it swallowed); -vv shows its lines too.
        logging.getLogger("yfinance").setLevel(logging.CRITICAL)
    if args.command == "info":
        fmt = "json" if args.json else "csv" if args.csv else "table"
        return _cmd_info(args.symbols, fmt, args.config)
    if args.command == "batch":
        return _cmd_batch(args)
    if args.command == "demo":
        return _cmd_demo(args.json)
    parser.print_help(sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
