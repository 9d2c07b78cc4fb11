"""Charts of stored statistics: where answers came from per run, what each upstream cost per run,
and provider latency over time.

matplotlib is an optional extra (``pip install 'resilient-provider[plot]'``), imported only
when a chart is drawn. Figures are drawn on matplotlib's Agg canvas directly, without pyplot,
so drawing a chart changes no global matplotlib state (a notebook keeps its backend).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..result import DataSource

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .report import ReliabilityReport

#: How to install what :func:`plot_runs` needs.
PLOT_INSTALL = "pip install 'resilient-provider[plot]'"

#: The sources of the stacked bars, bottom to top, with their colours.
SOURCE_COLOURS = ((DataSource.PRIMARY, "#2e7d32"), (DataSource.FALLBACK, "#f9a825"),
                  (DataSource.CACHE_FRESH, "#1e88e5"), (DataSource.CACHE_STALE, "#8e24aa"),
                  (DataSource.ERROR, "#c62828"))

_MAX_LABELLED_BARS = 24


def plot_runs(reports: Sequence[ReliabilityReport], timeline: Sequence[Mapping[str, Any]],
              path: str | Path) -> Path:
    """Draw ``reports`` (one per run, oldest first) and ``timeline`` into the PNG ``path``.

    The top panel stacks each run's source mix (percent of its requests; the bar's label
    gives its start, id and request count); the middle one shows what each upstream cost per
    run: HTTP requests per symbol served (bars) and the share answered 429 (dots, right axis),
    so a run that was throttled stands out; the bottom one draws each provider's p50 (solid)
    and p95 (dashed) latency per flush interval from ``timeline`` (rows of
    ``StatsStore.timeline``), with a cross where an interval had failures, so the time the
    primary slowed down or failed stands out. Returns the path written.

    Raises:
        ModuleNotFoundError: matplotlib is not installed (the message says how to install it).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"matplotlib is needed to plot statistics: {PLOT_INSTALL}",
                                  name="matplotlib") from exc
    figure = Figure(figsize=(11, 10), layout="constrained")
    FigureCanvasAgg(figure)
    mix, upstreams, latency = figure.subplots(3, 1, height_ratios=(1, 0.8, 1.3))
    _draw_source_mix(mix, reports)
    _draw_upstreams(upstreams, reports)
    _draw_latency(latency, timeline, reports)
    figure.suptitle(_title(reports), fontsize=12)
    target = Path(path)
    figure.savefig(target, format="png", dpi=110)
    return target


def _draw_source_mix(ax: Axes, reports: Sequence[ReliabilityReport]) -> None:
    ax.set_title("Where answers came from, per run", loc="left", fontsize=10)
    ax.set_ylabel("% of requests")
    if not reports:
        _say(ax, "no runs")
        return
    positions = list(range(len(reports)))
    bottoms = [0.0] * len(reports)
    for source, colour in SOURCE_COLOURS:
        shares = [_share(report, source) for report in reports]
        ax.bar(positions, shares, bottom=bottoms, color=colour, label=source.value, width=0.7)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    ax.set_ylim(0, 100)
    ax.set_xlim(*_runs_xlim(len(reports)))
    step = max(1, -(-len(reports) // _MAX_LABELLED_BARS))
    ax.set_xticks(positions[::step],
                  [_bar_label(r) for r in reports[::step]], fontsize=8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)


def _draw_upstreams(ax: Axes, reports: Sequence[ReliabilityReport]) -> None:
    ax.set_title("Upstream cost per run: HTTP requests per symbol served (bars), "
                 "share answered 429 (red dots, right axis)", loc="left", fontsize=10)
    ax.set_ylabel("requests / symbol")
    names = sorted({name for report in reports for name in report.upstreams})
    if not names:
        _say(ax, "no upstream requests recorded")
        return
    width = 0.7 / len(names)
    refused = ax.twinx()
    refused.set_ylabel("% answered 429", color="#c62828")
    for offset, name in enumerate(names):
        xs, per_symbol, shares = [], [], []
        for index, report in enumerate(reports):
            upstream = report.upstreams.get(name)
            if upstream is None or not upstream.requests:
                continue
            served = report.served_via(upstream)
            xs.append(index - 0.35 + width * (offset + 0.5))
            per_symbol.append(upstream.requests / served if served else float("nan"))
            shares.append(upstream.rate_limited_share)
        ax.bar(xs, per_symbol, width=width * 0.9, color=f"C{offset % 10}", label=name)
        refused.scatter(xs, shares, color="#c62828", marker="o", s=18, zorder=3)
    refused.set_ylim(0, max(5.0, *(r.upstreams[n].rate_limited_share for r in reports
                                   for n in names if n in r.upstreams)) * 1.15)
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=0.8)  # the floor: one per symbol
    ax.set_xlim(*_runs_xlim(len(reports)))
    ax.set_xticks([])
    ax.legend(loc="upper left", bbox_to_anchor=(1.06, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)


def _runs_xlim(runs: int) -> tuple[float, float]:
    """The x range of the per-run panels: runs at 0..runs-1, a few runs at the usual width."""
    margin = max(0.0, (6 - runs) / 2)
    return -0.5 - margin, runs - 0.5 + margin


def _share(report: ReliabilityReport, source: DataSource) -> float:
    total = report.sources.total_requests
    return 100.0 * report.sources.count(source) / total if total else 0.0


def _bar_label(report: ReliabilityReport) -> str:
    started = report.started_at
    when = started.strftime("%m-%d %H:%M") if started else "?"
    return f"{when}\n{report.run_id[:8]}\nn={report.sources.total_requests}"


def _draw_latency(ax: Axes, timeline: Sequence[Mapping[str, Any]],
                  reports: Sequence[ReliabilityReport]) -> None:
    ax.set_title("Provider latency per flush interval: p50 solid, p95 dashed (hollow), "
                 "x = failures (larger: a larger share of calls)", loc="left", fontsize=10)
    ax.set_ylabel("latency (ms)")
    ax.set_xlabel("time (UTC)")
    # matplotlib.dates has no type hints, hence the ignores.
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num

    def when(epoch_s: float) -> float:
        return float(date2num(datetime.fromtimestamp(float(epoch_s), tz=UTC)))  # type: ignore[no-untyped-call]

    rows = [row for row in timeline if row.get("p50_ms") is not None
            or row.get("p95_ms") is not None]
    if not rows:
        _say(ax, "no latency samples recorded")
        return
    providers = list(dict.fromkeys(str(row["provider"]) for row in rows))
    colours = {name: f"C{i % 10}" for i, name in enumerate(providers)}
    segments: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:  # one line per provider and run: no line bridges the gap between runs
        segments.setdefault((str(row["provider"]), str(row.get("run_id"))), []).append(row)
    labelled: set[str] = set()
    for (name, _), points in segments.items():
        times = [when(p["at"]) for p in points]
        label = None if name in labelled else name
        labelled.add(name)
        ax.plot(times, [_nan(p.get("p50_ms")) for p in points], color=colours[name],
                marker="." if len(points) < 50 else None, label=label)
        ax.plot(times, [_nan(p.get("p95_ms")) for p in points], color=colours[name],
                linestyle="--", alpha=0.8, marker="o" if len(points) < 50 else None,
                markersize=4, markerfacecolor="none")
        failed = [p for p in points if p.get("failures")]
        ax.scatter([when(p["at"]) for p in failed],
                   [_nan(p.get("p95_ms") if p.get("p95_ms") is not None else p.get("p50_ms"))
                    for p in failed], marker="x", color=colours[name], zorder=3,
                   s=[15 + 185 * _failure_share(p) for p in failed])
    if len(reports) <= _MAX_LABELLED_BARS:
        for report in reports:
            started = report.started_at
            if started is not None:
                ax.axvline(when(started.timestamp()), color="grey", linestyle=":",
                           linewidth=0.8)
    values = [v for row in rows for v in (row.get("p50_ms"), row.get("p95_ms"))
              if v is not None and v > 0]
    if values and max(values) / min(values) > 20:
        ax.set_yscale("log")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    locator = AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]


def _failure_share(row: Mapping[str, Any]) -> float:
    calls = row.get("calls") or 0
    return min(1.0, (row.get("failures") or 0) / calls) if calls else 1.0


def _title(reports: Sequence[ReliabilityReport]) -> str:
    if not reports:
        return "resilient-provider statistics"
    first = reports[0].started_at
    span = f" from {first:%Y-%m-%d %H:%M} UTC" if first else ""
    runs = "1 run" if len(reports) == 1 else f"{len(reports)} runs"
    total = sum(r.sources.total_requests for r in reports)
    return f"resilient-provider statistics: {runs}{span}, {total:,} requests"


def _say(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)
