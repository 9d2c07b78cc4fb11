"""What every command shares: exit codes, the config option, errors, opening the façade."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..facade import ResilientProvider

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
#: After Ctrl-C (128 + SIGINT, what shells report), once what was fetched is written.
EXIT_INTERRUPTED = 130
#: Standard output was a pipe its reader closed (128 + SIGPIPE, what shells report).
EXIT_BROKEN_PIPE = 141

PARQUET_INSTALL = "pip install 'resilient-provider[parquet]'"

#: Environment variable naming the configuration file when --config is not given.
CONFIG_ENV = "RESILIENT_PROVIDER_CONFIG"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config PATH``; :func:`resolve_config` gives it ``$RESILIENT_PROVIDER_CONFIG`` when
    it was not given (after the command, or before it)."""
    parser.add_argument("--config", metavar="PATH", default=None,
                        help=f"YAML configuration file (default: ${CONFIG_ENV}, "
                             "else built-in defaults with RESILIENT_PROVIDER_* env overrides)")


def resolve_config(args: argparse.Namespace) -> None:
    """``args.config`` from ``$RESILIENT_PROVIDER_CONFIG`` when the command takes the option
    and it was not given."""
    if hasattr(args, "config") and args.config is None:
        args.config = os.environ.get(CONFIG_ENV) or None


def open_provider(config: str | None) -> ResilientProvider:
    """The façade from ``config`` (a YAML path), else the defaults; ConfigError if bad, or if
    it names no provider (a command has none passed in code)."""
    from ..config import Settings, require_providers  # imported here: ``--help`` stays fast
    from ..facade import ResilientProvider

    settings = Settings.from_yaml(config) if config else Settings()
    require_providers(settings, source=config)
    return ResilientProvider(settings=settings)


def fail(message: str) -> int:
    """Print ``message`` as the command's error on stderr; the bad-input exit code."""
    print(f"resilient-provider: error: {message}", file=sys.stderr)
    return EXIT_USAGE
