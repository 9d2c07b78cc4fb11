"""The parser, logging set-up and dispatch of ``resilient-provider``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import ConfigError
from ..logs import LogFormat, configure_logging
from . import cache, demo, fetch, health, stats
from .common import EXIT_USAGE

#: Command modules, in the order ``--help`` lists their sub-commands.
COMMANDS = (fetch, cache, stats, health, demo)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options and every sub-command."""
    parser = argparse.ArgumentParser(
        prog="resilient-provider",
        description="Market data for tickers through a cascading fallback "
                    "(primary → secondary → fresh cache → stale cache → tagged error).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log to stderr: -v warnings (retries, breakers), -vv everything")
    parser.add_argument("--log-format", choices=("text", "json"), default=None,
                        help="log lines as text or one JSON object per line (default: "
                             "logging.format of the configuration, else text)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
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
    finally:
        # Undone, so that a caller running several commands in one process (tests) keeps its
        # own logging set-up.
        root.removeHandler(handler)
        handler.close()
        root.setLevel(levels[0])
        yfinance.setLevel(levels[1])
    return code


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
