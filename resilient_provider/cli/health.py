"""``health``: probe every configured provider and the cache, print each with its status."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ConfigError
from .common import EXIT_OK, EXIT_SOME_FAILED, add_config_option, fail


def register(commands: Any) -> None:
    """Add the ``health`` sub-command."""
    health = commands.add_parser(
        "health", help="probe every configured provider and the cache",
        description="Sends one real request for health.probe_symbol (default SPY) to every "
                    "configured provider, all at once, each within health.timeout_s (default "
                    "5s), checks the answer against the data contract, and writes, reads back "
                    "and deletes a probe entry in the cache. Exit code 0 when every check is "
                    "up, 1 when any is down, 2 on bad configuration.")
    health.add_argument("--json", action="store_true",
                        help="print the checks and the overall status as JSON")
    add_config_option(health)
    health.set_defaults(run=run_health)


def run_health(args: argparse.Namespace) -> int:
    """``resilient-provider health``."""
    from ..config import Settings, require_providers  # imported here: `--help` stays fast
    from ..health import check_health
    from .render import write_health_table

    try:
        settings = Settings.from_yaml(args.config) if args.config else Settings()
        require_providers(settings, source=args.config)  # else only the cache is probed
        report = check_health(settings)
    except ConfigError as exc:
        return fail(str(exc))
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        write_health_table(report, sys.stdout)
    return EXIT_OK if report.up else EXIT_SOME_FAILED
