"""The parser, logging set-up and dispatch of ``resilient-provider``.

Exit codes every command shares: 2 for bad usage, 130 after Ctrl-C (what it had fetched is
written first), 141 when standard output is a pipe closed early (``| head``): the command
stops writing and ends quietly, like a program killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import ConfigError
from ..logs import LogFormat, configure_logging
from . import cache, demo, fetch, health, history, stats
from .common import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, resolve_config
from .parser import CommandParser, add_global_options

#: Command modules, in the order ``--help`` lists their sub-commands.
COMMANDS = (fetch, history, cache, stats, health, demo)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options and every sub-command."""
    parser = argparse.ArgumentParser(
        prog="resilient-provider",
        description="Market data for tickers through a cascading fallback "
                    "(primary → secondary → fresh cache → stale cache → tagged error). "
                    "Global options (-v, --log-format) and --config/--json may stand before "
                    "or after the command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     parser_class=CommandParser)
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        return _main(argv)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:  # before a command could write what it had (or outside one)
        print("resilient-provider: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    resolve_config(args)
    level = {0: logging.ERROR, 1: logging.WARNING}.get(args.verbose, logging.DEBUG)
    root, yfinance = logging.getLogger(), logging.getLogger("yfinance")
    levels = root.level, yfinance.level
    handler = configure_logging(level, fmt=args.log_format or _configured_log_format(args))
    if args.verbose < 2:
        # The adapters classify every failure yfinance logs as an ERROR on its own logger
        # (a 404 for an unknown symbol, a 500 it swallowed); -vv shows its lines too.
        yfinance.setLevel(logging.CRITICAL)
    try:
        code: int = run(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit flush
    finally:
        # Undone, so that a caller running several commands in one process (tests) keeps its
        # own logging set-up.
        root.removeHandler(handler)
        handler.close()
        root.setLevel(levels[0])
        yfinance.setLevel(levels[1])
    return code


def _silence_stdout() -> None:
    """Point standard output at the null device: the reader is gone, and the interpreter's
    flush at exit must not fail on the closed pipe again (the recipe of Python's `signal`
    documentation, "Note on SIGPIPE")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return  # not a file (a test's capture): nothing is flushed to a pipe at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _configured_log_format(args: argparse.Namespace) -> LogFormat:
    """``logging.format`` of the command's configuration (file and env overrides), else text."""
    if not hasattr(args, "config"):
        return "text"
    from ..config import Settings  # imported here: `--help` stays fast

    try:
        settings = Settings.from_yaml(args.config) if args.config else Settings()
    except ConfigError:
        return "text"  # the command itself reports the bad configuration, with exit code 2
    return settings.logging.format


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
