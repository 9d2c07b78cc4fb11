"""``history``: price bars for symbols through the fallback chain, as a table, JSON or a file.

The symbols are checked, then fetched with the façade's ``batch_get_history`` in chunks of
``batch_size`` (symbols missing the same range share one provider call), so Ctrl-C writes the
chunks answered by then. What is printed or written is in :mod:`.history_output`.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, InvalidSymbolError
from .cache import add_offline_option, open_provider_for
from .common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    PARQUET_INSTALL,
    add_config_option,
    fail,
)

if TYPE_CHECKING:
    from ..facade import ResilientProvider
    from ..history.result import HistoryResult

#: File formats of ``history -o``, each named by its file extension.
FILE_FORMATS = ("csv", "json", "parquet")

#: How many of each symbol's last bars the table shows unless ``--bars`` says otherwise.
DEFAULT_BARS = 5

_EXIT_HELP = ("Exit code 0 when every symbol got its bars (live or cached; a range without "
              "trading has none and is no failure), 1 when any did not, 2 on bad input (a "
              "symbol, period, date, interval or adjust value) or configuration.")


def register(commands: Any) -> None:
    """Add the ``history`` sub-command."""
    from ..history.bars import INTERVALS
    from ..history.request import ADJUSTMENTS, PERIODS

    parser = commands.add_parser(
        "history", help="fetch price bars (OHLCV) through the fallback chain",
        description="Fetches each SYMBOL's bars through the providers and the history cache "
                    "(bars already cached are not fetched again) and prints a summary with "
                    "where each answer came from and each symbol's last bars, the bars as "
                    "JSON, or writes them all to one file. " + _EXIT_HELP)
    parser.add_argument("symbols", nargs="+", metavar="SYMBOL", help="ticker symbols, e.g. AAPL")
    parser.add_argument("--period", metavar="P",
                        help=f"counted back from now: one of {', '.join(PERIODS)} (default, "
                             "without --start/--end: 1mo)")
    parser.add_argument("--start", metavar="DATE",
                        help="first bar's earliest start, ISO 8601 (2024-01-31, or "
                             "2024-01-31T14:30:00-05:00; a naive time is UTC); not with --period")
    parser.add_argument("--end", metavar="DATE",
                        help="end of the range, exclusive (default: now; --start defaults to a "
                             "month before it)")
    parser.add_argument("--interval", metavar="I", default="1d",
                        help=f"bar length: one of {', '.join(INTERVALS)} (default: 1d)")
    parser.add_argument("--adjust", metavar="A", default="splits_dividends",
                        help=f"one of {', '.join(ADJUSTMENTS)} (default: splits_dividends: "
                             "OHLC scaled by adj_close/close; splits: as Yahoo gives them; "
                             "none: as traded)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("-o", "--output", metavar="FILE",
                        help="write every bar to FILE, one row per (symbol, bar): .csv, .json "
                             f"or .parquet (parquet needs pyarrow: {PARQUET_INSTALL})")
    output.add_argument("--json", action="store_true",
                        help="print the tagged answers with their bars as JSON")
    parser.add_argument("--bars", metavar="N", type=_count, default=DEFAULT_BARS,
                        help=f"how many of each symbol's last bars the table shows (default: "
                             f"{DEFAULT_BARS}; 0: the summary only)")
    add_offline_option(parser)
    add_config_option(parser)
    parser.set_defaults(run=run_history)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: expected 0 or more")
    return value


def run_history(args: argparse.Namespace) -> int:
    """``resilient-provider history SYMBOL...``; after Ctrl-C, what was fetched, exit 130."""
    from ..history.request import InvalidHistoryRequestError, resolve_request
    from ..symbols import normalize_symbol

    fmt = None
    if args.output is not None:
        if args.json:  # --json given before the command escapes argparse's exclusive group
            return fail("--json prints to standard output and -o writes a file: give one")
        fmt = file_format(args.output)
        if fmt is None:
            return fail(f"cannot tell which format to write to {args.output}: give it one of "
                        f"the extensions {', '.join('.' + f for f in FILE_FORMATS)}")
        # Checked before fetching, so the bars are never fetched only to be thrown away.
        if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
            return fail(f"pyarrow is needed for parquet output: {PARQUET_INSTALL}")
        if not Path(args.output).resolve().parent.is_dir():
            return fail(f"cannot write {args.output}: its directory does not exist")
    try:
        wanted = list(dict.fromkeys(normalize_symbol(s) for s in args.symbols))
        # The façade checks these again; once here, so bad input costs no set-up.
        resolve_request(period=args.period, start=args.start, end=args.end,
                        interval=args.interval, adjust=args.adjust, now=time.time())
        provider = open_provider_for(args)
    except (InvalidSymbolError, InvalidHistoryRequestError, ConfigError) as exc:
        return fail(str(exc))
    started = time.perf_counter()
    with provider, warnings.catch_warnings():
        if args.verbose < 2:
            # yfinance's history code trips pandas' deprecation warnings; -vv shows them.
            warnings.filterwarnings("ignore", module=r"(yfinance|yahooquery)(\.|$)")
        results, interrupted = fetch_all(provider, wanted, args)
    return _report(results, wanted, args, fmt, interrupted, started)


def fetch_all(provider: ResilientProvider, symbols: list[str], args: argparse.Namespace,
              ) -> tuple[list[HistoryResult], bool]:
    """Each symbol's answer, in order, from one batch; and whether Ctrl-C stopped it (then the
    answers so far, which the batch hands over in its BatchInterrupted)."""
    from ..strategy.batch import BatchInterrupted

    try:
        answers = provider.batch_get_history(
            symbols, period=args.period, start=args.start, end=args.end,
            interval=args.interval, adjust=args.adjust, as_frame=False)
    except BatchInterrupted as exc:
        return [exc.results[s] for s in symbols if s in exc.results], True
    except KeyboardInterrupt:  # before the batch started
        return [], True
    return list(answers.values()), False


def _report(results: list[HistoryResult], wanted: list[str], args: argparse.Namespace,
            fmt: str | None, interrupted: bool, started: float) -> int:
    """Print or write ``results``; the exit code."""
    from .fetch import _interrupted
    from .history_output import write_bars_file, write_history_json, write_history_table
    from .render import plural

    if fmt is None:
        if args.json:
            write_history_json(results, sys.stdout)
        else:
            write_history_table(results, sys.stdout, bars=args.bars)
    else:
        try:
            write_bars_file(results, fmt, Path(args.output))
        except ModuleNotFoundError as exc:
            return fail(f"{exc.name} is needed for {fmt} output: {PARQUET_INSTALL}")
        except OSError as exc:
            return fail(f"cannot write {args.output}: {exc.strerror or exc}")
    if interrupted:
        return _interrupted(len(results), len(wanted))
    if fmt is not None:
        mix = Counter(r.source.value for r in results)
        bars = sum(len(r.frame) for r in results)
        print(f"wrote {plural(bars, 'bar')} of {plural(len(results), 'symbol')} to "
              f"{args.output} in {time.perf_counter() - started:.1f}s: "
              + ", ".join(f"{count} {source}" for source, count in mix.most_common()),
              file=sys.stderr)
        for result in results:
            if result.error is not None:
                print(f"{result.symbol}: {result.error.code}: {result.error.message}",
                      file=sys.stderr)
    return EXIT_OK if all(r.success for r in results) else EXIT_SOME_FAILED


def file_format(output: str) -> str | None:
    """The format the extension of ``output`` names; None for another or no extension."""
    suffix = Path(output).suffix.lower().lstrip(".")
    return suffix if suffix in FILE_FORMATS else None
