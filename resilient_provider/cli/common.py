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

PARQUET_INSTALL = "pip install 'resilient-provider[parquet]'"

#: Environment variable naming the configuration file when --config is not given.
CONFIG_ENV = "RESILIENT_PROVIDER_CONFIG"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config PATH``, defaulting to ``$RESILIENT_PROVIDER_CONFIG``."""
    parser.add_argument("--config", metavar="PATH", default=os.environ.get(CONFIG_ENV),
                        help=f"YAML configuration file (default: ${CONFIG_ENV}, "
                             "else built-in defaults with RESILIENT_PROVIDER_* env overrides)")


def open_provider(config: str | None) -> ResilientProvider:
    """The façade from ``config`` (a YAML path), else the defaults; ConfigError if bad."""
    from ..facade import ResilientProvider  # imported here: ``--help`` stays fast

    return ResilientProvider.from_config(config) if config else ResilientProvider()


def fail(message: str) -> int:
    """Print ``message`` as the command's error on stderr; the bad-input exit code."""
    print(f"resilient-provider: error: {message}", file=sys.stderr)
    return EXIT_USAGE
