"""Alerts: thresholds on a run's report, logged as a WARNING once per window while they hold.

Three conditions, each configurable (``stats.alerts`` in the settings):

- ``fallback_usage``: more than ``fallback_usage_pct`` of requests answered by a fallback
  provider (the primary is sick, even if every answer still came);
- ``error_rate``: more than ``error_rate_pct`` of requests answered with an error (not
  counting the symbols found unknown: a portfolio with delisted tickers is no outage);
- ``breaker_open``: a provider's breaker has not been closed for over ``breaker_open_s``
  (open, or half-open with its trials failing).

The two rates are judged only once ``min_requests`` requests were answered, so the first
failed request of a run is not "100% errors". An :class:`Alert` is a part of the report (see
:mod:`.report`), listed under its ``alerts``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from ..config import AlertSettings
from ..logs import get_logger
from .counters import BreakerView
from .report import Alert, ReliabilityReport

__all__ = ["Alert", "AlertMonitor", "evaluate"]

log = get_logger(__name__)


def evaluate(report: ReliabilityReport, breakers: Mapping[str, BreakerView],
             settings: AlertSettings) -> list[Alert]:
    """The alerts that hold for ``report`` (a live one) and the providers' ``breakers`` right
    now."""
    alerts: list[Alert] = []
    total = report.sources.total_requests
    if total >= settings.min_requests:
        fallback = report.sources.fallback_usage_rate
        if fallback > settings.fallback_usage_pct:
            alerts.append(Alert(
                "fallback_usage",
                f"fallback providers answered {fallback:.1f}% of {total} requests (threshold "
                f"{settings.fallback_usage_pct:g}%): the primary is failing",
                fallback, settings.fallback_usage_pct))
        errors = report.sources.error_rate
        if errors > settings.error_rate_pct:
            alerts.append(Alert(
                "error_rate",
                f"{errors:.1f}% of {total} requests got no data from any source (threshold "
                f"{settings.error_rate_pct:g}%)", errors, settings.error_rate_pct))
    for name, breaker in breakers.items():
        open_for_s = breaker.open_for_s
        if open_for_s is not None and open_for_s > settings.breaker_open_s:
            alerts.append(Alert(
                "breaker_open",
                f"{name}: circuit breaker not closed for {open_for_s:.0f}s (threshold "
                f"{settings.breaker_open_s:g}s, {breaker.trips} trips)",
                open_for_s, settings.breaker_open_s, provider=name))
    return alerts


class AlertMonitor:
    """Evaluates the alerts and logs each one at most once per ``settings.window_s``."""

    def __init__(self, settings: AlertSettings, *, clock: Callable[[], float]) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._logged_at: dict[tuple[str, str | None], float] = {}

    def check(self, report: ReliabilityReport,
              breakers: Mapping[str, BreakerView]) -> list[Alert]:
        """The alerts that hold now; those not logged within the window are logged."""
        alerts = evaluate(report, breakers, self.settings)
        now = self._clock()
        with self._lock:
            due = [a for a in alerts
                   if now - self._logged_at.get((a.name, a.provider), -float("inf"))
                   >= self.settings.window_s]
            for alert in due:
                self._logged_at[alert.name, alert.provider] = now
        for alert in due:
            log.warning("alert %s: %s", alert.name, alert.message)
        return alerts

    def reset(self) -> None:
        """Forget what was logged (a new run starts)."""
        with self._lock:
            self._logged_at.clear()
