"""The parser, logging set-up and dispatch of ``resilient-provider``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from . import demo, fetch
from .common import EXIT_USAGE

#: Command modules, in the order ``--help`` lists their sub-commands.
COMMANDS = (fetch, demo)


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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.ERROR, 1: logging.WARNING}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")
    if args.verbose < 2:
        # The adapters classify every failure yfinance logs as an ERROR on its own logger
        # (a 404 for an unknown symbol, a 500 it swallowed); -vv shows its lines too.
        logging.getLogger("yfinance").setLevel(logging.CRITICAL)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    code: int = run(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
