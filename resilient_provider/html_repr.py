"""Notebook views: the HTML that Jupyter shows for a :class:`~.result.FetchResult` and for a
:class:`~.stats.report.ReliabilityReport` (their ``_repr_html_`` methods call these).

Every value is escaped: a symbol, a provider name or an upstream's error message is text, never
markup. The objects are read by attribute (typed ``Any``): importing their modules here would
make each import the other.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from .config.types import format_duration


def result_html(result: Any) -> str:
    """``result`` (a ``FetchResult``) as a two-column table: its tags, then the core fields
    that have a value."""
    from .providers.canonical import CORE_FIELDS

    rows: list[tuple[str, Any]] = [
        ("source", result.source.value if result.data is not None else "error"),
        ("provider", result.provider), ("stale", result.is_stale),
        ("fetched at", result.tags()["_fetched_at"]),
        ("age", None if result.age_s is None else format_duration(result.age_s)),
        ("latency", f"{result.latency_ms:.0f} ms"),
        ("error code", result.error.code if result.error is not None else None),
        ("error", result.error.message if result.error is not None else None),
        ("fields", len(result.data or {})),
    ]
    data = result.data or {}
    rows += [(name, data[name]) for name in CORE_FIELDS
             if name != "symbol" and data.get(name) is not None]
    title = result.symbol if result.ticker == result.symbol else \
        f"{result.symbol} (asked as {result.ticker!r})"
    return _table(f"FetchResult {title}", ("field", "value"),
                  [(name, value) for name, value in rows if value is not None])


def report_html(report: Any) -> str:
    """``report`` (a ``ReliabilityReport``) as tables: the source mix, one row per provider,
    then the alerts."""
    total = report.sources.total_requests
    sources = [(kind, count, f"{100.0 * count / total:.1f}%" if total else "-")
               for kind, count in report.sources.items()]
    providers = []
    for name, view in report.providers.items():
        failures = ", ".join(f"{code} {n}" for code, n in sorted(view.failures.items()))
        providers.append((name, view.calls, view.successes,
                          f"{view.success_rate:.1f}%" if view.calls else "-",
                          view.not_found, view.retries,
                          _ms(view.latency.p50_ms), _ms(view.latency.p95_ms),
                          view.breaker.state if view.breaker is not None else None,
                          failures or None))
    parts = [_table(f"ReliabilityReport {report.run_id}: {total} requests",
                    ("source", "requests", "share"), sources),
             _table("providers", ("provider", "calls", "successes", "success", "not found",
                                  "retries", "p50", "p95", "breaker", "failures"), providers)]
    if report.alerts:
        parts.append(_table("alerts", ("alert", "message"),
                            [(a.name, a.message) for a in report.alerts]))
    return "\n".join(parts)


def _ms(value: float | None) -> str | None:
    return None if value is None else f"{value:.0f} ms"


def _table(caption: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(tag: str, value: Any) -> str:
        text = "-" if value is None else str(value)
        return f"<{tag}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", name) for name in header)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    return (f"<table><caption>{html.escape(caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
