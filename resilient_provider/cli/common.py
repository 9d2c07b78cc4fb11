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
