"""Settings of what watches a run: persisted statistics, alerts, health probes and log format.

Part of :mod:`resilient_provider.config` (which re-exports these models); kept apart from
:mod:`.settings` so that module stays about the fallback chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, field_validator

from ..symbols import normalize_symbol
from .types import Duration, FrozenModel, usable_path

#: File name of the statistics store when ``stats.path`` is not set.
STATS_FILE_NAME = "stats.sqlite3"

#: The application name of the per-user directories (platformdirs).
APP_NAME = "resilient-provider"


def default_stats_path() -> Path:
    """The statistics store of this user when ``stats.path`` is not set: ``stats.sqlite3`` in
    the user's state directory (``$XDG_STATE_HOME/resilient-provider``, by default
    ``~/.local/state/resilient-provider`` on Linux; platformdirs' ``user_state_dir`` elsewhere).

    One store per user, whatever the configuration's cache directory, so that
    ``resilient-provider stats`` finds every run that kept the default.
    """
    return Path(platformdirs.user_state_dir(APP_NAME)) / STATS_FILE_NAME


class AlertSettings(FrozenModel):
    """Thresholds that raise an alert (a WARNING log line, and ``alerts`` in the statistics).

    An alert is logged at most once per ``window_s`` while its condition holds.
    """

    fallback_usage_pct: float = Field(default=10.0, ge=0, le=100)
    breaker_open_s: Duration = Field(default=300.0, ge=0)
    error_rate_pct: float = Field(default=1.0, ge=0, le=100)
    min_requests: int = Field(default=20, ge=1)
    window_s: Duration = Field(default=300.0, gt=0)


class StatsSettings(FrozenModel):
    """Where each run's statistics are kept, how often they are written, and for how long."""

    enabled: bool = True
    path: Path | None = None
    flush_interval_s: Duration = Field(default=10.0, gt=0, le=3600)
    retention: Duration = Field(default=30 * 86400.0, gt=0)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @field_validator("path")
    @classmethod
    def _expand_user(cls, path: Path | None) -> Path | None:
        return usable_path(path)

    def resolved_path(self) -> Path:
        """The SQLite file: ``path``, else the user's store (:func:`default_stats_path`)."""
        if self.path is not None:
            return self.path
        return default_stats_path()


class HealthSettings(FrozenModel):
    """What ``resilient-provider health`` asks each provider for, and how long it waits."""

    probe_symbol: str = "SPY"
    timeout_s: Duration = Field(default=5.0, gt=0, le=120)

    @field_validator("probe_symbol")
    @classmethod
    def _a_symbol(cls, value: str) -> str:
        return normalize_symbol(value)  # InvalidSymbolError is a ValueError: reported by name


class LoggingSettings(FrozenModel):
    """How the library's log lines are written when the CLI (or :func:`configure_logging`)
    sets logging up: ``text`` lines or one JSON object per line."""

    format: Literal["text", "json"] = "text"
