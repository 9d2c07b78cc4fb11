"""``cache``: list, show, export, prune and clear the cache a configuration uses.

Each sub-command opens only the cache (the fleet's tier in fleet mode): no provider is built
and no run is written to the statistics store. Exit codes: 0 done, 1 not found (``show``) or
not done (``clear`` declined, the cache failed), 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, InvalidSymbolError
from .common import EXIT_OK, EXIT_SOME_FAILED, add_config_option, fail, open_provider

if TYPE_CHECKING:
    from ..cache_tools import CacheRecord, CacheTools
    from ..facade import ResilientProvider

EXPORT_HELP = "a .jsonl, .json or .csv file (default: standard output, as --format)"


def register(commands: Any) -> None:
    """Add the ``cache`` command group."""
    group = commands.add_parser(
        "cache", help="list, show, export, prune or clear the cache",
        description="Inspect and tidy the cache the configuration uses (cache.backend and "
                    "cache.path; the Redis tier too in fleet mode). Exit code 0 when done, 1 "
                    "when a symbol is not cached (show) or nothing was done, 2 on bad input.")
    actions = group.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    ls = _action(actions, "ls", "every cached symbol: status, age, provider, fetched at",
                 _run_ls)
    ls.add_argument("--no-not-found", action="store_true",
                    help="leave out the symbols confirmed unknown (the negative cache)")
    show = _action(actions, "show", "one symbol's cached data and where it came from", _run_show)
    show.add_argument("symbol", metavar="SYMBOL", help="a ticker symbol, e.g. AAPL")
    export = _action(actions, "export", "every row as JSON lines, JSON or CSV", _run_export)
    export.add_argument("-o", "--output", metavar="FILE", help=EXPORT_HELP)
    export.add_argument("--format", choices=("jsonl", "json", "csv"),
                        help="format on standard output (default: jsonl; with -o the "
                             "extension decides)")
    prune = _action(actions, "prune", "remove entries older than cache.max_stale_age",
                    _run_prune)
    prune.add_argument("--older-than", metavar="AGE",
                       help="remove entries older than AGE instead, e.g. 7d, 12h, 3600")
    clear = _action(actions, "clear", "remove every entry (asks first)", _run_clear)
    clear.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def _action(actions: Any, name: str, summary: str,
            run: Callable[[argparse.Namespace, CacheTools], int]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=summary, description=summary)
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_config_option(parser)
    parser.set_defaults(run=lambda args: _with_tools(args, run))
    return parser


def _with_tools(args: argparse.Namespace, run: Callable[[argparse.Namespace, CacheTools], int],
                ) -> int:
    """Open the configured cache, run the action on it, close it; errors to exit codes."""
    import sqlite3

    import diskcache

    from ..cache_tools import CacheNotListableError, open_cache_tools
    from ..config import Settings
    from ..shared.link import RedisDown

    try:
        settings = Settings.from_yaml(args.config) if args.config else Settings()
        with open_cache_tools(settings) as tools:
            return run(args, tools)
    except (ConfigError, InvalidSymbolError, CacheNotListableError) as exc:
        return fail(str(exc))
    except (OSError, sqlite3.Error, diskcache.Timeout, RedisDown) as exc:
        print(f"resilient-provider: cache {args.cache_command} failed: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED


def _run_ls(args: argparse.Namespace, tools: CacheTools) -> int:
    records = tools.records(include_not_found=not args.no_not_found)
    if args.json:
        _print_json([r.to_dict(with_data=False) for r in records])
        return EXIT_OK
    from .render import house_console, house_table  # the house table

    table = house_table()
    for column in ("symbol", "status", "age", "provider", "fetched at"):
        table.add_column(column, no_wrap=True, justify="right" if column == "age" else "left")
    for record in records:
        table.add_row(record.symbol, record.status, _age(record.age_s), _safe(record.provider),
                      _safe(record.to_dict(with_data=False)["fetched_at"] or "-"))
    console = house_console(sys.stdout)
    if records:
        console.print(table)
    console.print(_summary(records) + f" in {_where(tools)}", markup=False)
    return EXIT_OK


def _run_show(args: argparse.Namespace, tools: CacheTools) -> int:
    record = tools.record(args.symbol)  # validated first: InvalidSymbolError is exit 2
    if record is None:
        if args.json:
            _print_json(None)
        print(f"resilient-provider: {args.symbol.strip().upper()} is not cached in "
              f"{_where(tools)}", file=sys.stderr)
        return EXIT_SOME_FAILED
    if args.json:
        _print_json(record.to_dict())
        return EXIT_OK
    from .render import write_table

    if record.data is not None:
        write_table([_as_result(record)], sys.stdout)
    print(f"status: {record.status} ({record.kind}, provider {_safe(record.provider)}, "
          f"{_age(record.age_s)} old)")
    return EXIT_OK


def _run_export(args: argparse.Namespace, tools: CacheTools) -> int:
    from ..cache_export import export_records, format_of, write_records

    if args.output is None:
        write_records(tools.records(), sys.stdout, args.format or ("json" if args.json
                                                                   else "jsonl"))
        return EXIT_OK
    try:
        fmt = format_of(args.output)
    except ValueError as exc:
        return fail(str(exc))
    if args.format and args.format != fmt:
        return fail(f"--format {args.format} does not match {args.output!r} (a .{fmt} file)")
    written = export_records(tools.records(), args.output)
    if args.json:
        _print_json({"exported": written, "path": args.output, "format": fmt})
    else:
        print(f"exported {_count(written, 'row')} to {args.output}", file=sys.stderr)
    return EXIT_OK


def _run_prune(args: argparse.Namespace, tools: CacheTools) -> int:
    from ..config import format_duration, parse_duration

    older_than_s = (tools.settings.max_stale_age if args.older_than is None
                    else parse_duration(args.older_than))  # ConfigError: exit 2
    removed = tools.prune(older_than_s)
    if args.json:
        _print_json({"removed": removed, "older_than_s": older_than_s})
    else:
        print(f"removed {_count(removed, 'row')} older than {format_duration(older_than_s)} "
              f"from {_where(tools)}")
    return EXIT_OK


def _run_clear(args: argparse.Namespace, tools: CacheTools) -> int:
    where = _where(tools)
    if not args.yes:
        print(f"Remove every entry, negative-cache row and price history from {where}? [y/N] ",
              end="",
              file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("nothing cleared (pass --yes to clear without asking)", file=sys.stderr)
            return EXIT_SOME_FAILED
    counts = tools.clear()
    if args.json:
        _print_json(counts.to_dict())
    else:
        print(f"cleared {_count(counts.entries, 'entry', 'entries')}, "
              f"{_count(counts.not_found, 'negative-cache row')} and "
              f"{_count(counts.histories, 'price history', 'price histories')} from {where}")
    return EXIT_OK


def _summary(records: list[CacheRecord]) -> str:
    """``3 entries (2 fresh, 1 stale), 1 symbol confirmed unknown``."""
    entries = Counter(r.status for r in records if r.kind == "entry")
    unknown = sum(r.kind == "not_found" for r in records)
    mix = ", ".join(f"{n} {status}" for status, n in entries.most_common())
    text = _count(sum(entries.values()), "entry", "entries") + (f" ({mix})" if mix else "")
    return text + (f", {_count(unknown, 'symbol')} confirmed unknown" if unknown else "")


def _as_result(record: CacheRecord) -> Any:
    from ..result import DataSource, FetchResult

    stale = record.status != "fresh"
    return FetchResult(symbol=record.symbol, data=record.data, provider=record.provider,
                       source=DataSource.CACHE_STALE if stale else DataSource.CACHE_FRESH,
                       fetched_at=record.fetched_at, age_s=record.age_s, is_stale=stale)


def _where(tools: CacheTools) -> str:
    directory = getattr(tools.cache, "directory", None)
    return str(Path(directory).resolve()) if directory is not None else repr(tools.cache)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _age(age_s: float) -> str:
    from ..config import format_duration

    return format_duration(age_s)


def _safe(text: str) -> str:
    """A stored string as one inert line: no control characters, no rich markup."""
    from rich.markup import escape

    from ..redaction import escape_controls

    return escape(escape_controls(text))


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


# --- offline mode for ``info`` and ``batch`` ---------------------------------------------------


def add_offline_option(parser: argparse.ArgumentParser) -> None:
    """``--offline``: the ``offline`` setting for this command."""
    parser.add_argument("--offline", action="store_true",
                        help="answer from the cache only, at once: no provider is asked "
                             "(fresh or stale entries; offline_no_cache for the others)")


def open_provider_for(args: argparse.Namespace) -> ResilientProvider:
    """The façade of ``--config``, offline with ``--offline``; ConfigError if bad."""
    from ..config import Settings
    from ..facade import ResilientProvider

    if not getattr(args, "offline", False):
        return open_provider(args.config)
    settings = Settings.from_yaml(args.config) if args.config else Settings()
    return ResilientProvider(settings=settings.model_copy(update={"offline": True}))
