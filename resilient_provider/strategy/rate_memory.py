"""The pacing rates learned per upstream, kept between runs so the next one starts near them.

A small JSON file (never pickle) beside the statistics store, written atomically and readable
by its owner only. A missing, unreadable or malformed file means "nothing learned yet": the
budgets then start at ``initial_rate_per_s``; failing to write it costs the next run a slower
start, never this run an answer.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..logs import get_logger

log = get_logger(__name__)

#: File name of the rates, in the statistics store's directory.
RATES_FILE_NAME = "upstream-rates.json"


class RateMemory:
    """The rates of ``path``: upstream name to requests per second."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, float]:
        """The rates saved last, or none."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.debug("learned rates in %s not read: %s: %s", self.path, type(exc).__name__, exc)
            return {}
        if not isinstance(raw, dict):
            return {}
        return {str(name): float(rate) for name, rate in raw.items()
                if isinstance(rate, int | float) and not isinstance(rate, bool)
                and math.isfinite(rate) and rate > 0}

    def save(self, rates: Mapping[str, float]) -> None:
        """Keep ``rates`` (merged over those saved) for the next run; failures are logged."""
        merged = {**self.load(), **{name: round(rate, 3) for name, rate in rates.items()}}
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".rates-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp: mode 0o600
                    json.dump(merged, out, sort_keys=True)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            log.warning("learned upstream rates not saved to %s: %s", self.path, exc)
