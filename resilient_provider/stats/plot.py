"""Charts of stored statistics: where answers came from per run, what each upstream cost per run,
provider latency over time, and failed look-ups over time.

matplotlib is an optional extra (``pip install 'resilient-provider[plot]'``), imported only
when a chart is drawn. Figures are drawn on matplotlib's Agg canvas directly, without pyplot,
so drawing a chart changes no global matplotlib state (a notebook keeps its backend).

Readable whatever the runs: run labels are short (start and a 6-digit id), turned upright and
thinned when many, so they never overlap; each run's bar is as wide as its share of the
largest run's requests (square root, at least a sliver) and says its ``n``; axes are labelled
in plain numbers (``300``, ``1,000``, never ``3x10^2``); failed look-ups are drawn in a panel
of their own, never as points of the latency lines (a refused connection is fast, but it is
no answer).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .sources import NOT_FOUND

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .report import ReliabilityReport

#: How to install what :func:`plot_runs` needs.
PLOT_INSTALL = "pip install 'resilient-provider[plot]'"

#: The kinds of answer of the stacked bars, bottom to top, with their colours.
SOURCE_COLOURS = (("primary", "#2e7d32"), ("fallback", "#f9a825"), ("cache_fresh", "#1e88e5"),
                  ("cache_stale", "#8e24aa"), (NOT_FOUND, "#9e9e9e"), ("error", "#c62828"))

#: Up to this many runs the run labels are written across; more are turned upright.
HORIZONTAL_LABELS = 8
#: At most this many run labels (and ``n=`` notes) are written; the others are left out.
MAX_RUN_LABELS = 40
#: The widest bar (the run with the most requests), in run slots; the narrowest is a fifth.
BAR_WIDTH = 0.8
_MIN_WIDTH_SHARE = 0.2


def draw_runs(reports: Sequence[ReliabilityReport],
              timeline: Sequence[Mapping[str, Any]]) -> Figure:
    """The chart of ``reports`` (one per run, oldest first) and ``timeline`` (rows of
    ``StatsStore.timeline``) as a matplotlib Figure, its panels in this order: the source mix
    per run, the upstream cost per run, latency of answered calls, failed look-ups.

    Raises:
        ModuleNotFoundError: matplotlib is not installed (the message says how to install it).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"matplotlib is needed to plot statistics: {PLOT_INSTALL}",
                                  name="matplotlib") from exc
    figure = Figure(figsize=(11, 12), layout="constrained")
    FigureCanvasAgg(figure)
    mix, upstreams, latency, failed = figure.subplots(4, 1, height_ratios=(1, 0.8, 1.2, 0.6))
    _draw_source_mix(mix, reports)
    _draw_upstreams(upstreams, reports)
    providers = list(dict.fromkeys(str(row["provider"]) for row in timeline))
    colours = {name: f"C{i % 10}" for i, name in enumerate(providers)}
    _draw_latency(latency, timeline, reports, colours)
    _draw_failures(failed, timeline, colours, like=latency)
    figure.suptitle(_title(reports), fontsize=12)
    return figure


def plot_runs(reports: Sequence[ReliabilityReport], timeline: Sequence[Mapping[str, Any]],
              path: str | Path) -> Path:
    """Draw :func:`draw_runs` of ``reports`` and ``timeline`` into the PNG ``path``; returns
    the path written.

    Raises:
        ModuleNotFoundError: matplotlib is not installed (the message says how to install it).
    """
    figure = draw_runs(reports, timeline)
    target = Path(path)
    figure.savefig(target, format="png", dpi=110)
    return target


def bar_widths(requests: Sequence[int]) -> list[float]:
    """Each run's bar width: :data:`BAR_WIDTH` for the largest run, narrower by the square
    root of its share of that run's requests, but never under a fifth of it."""
    largest = max(requests, default=0)
    if largest <= 0:
        return [BAR_WIDTH] * len(requests)
    return [BAR_WIDTH * max(_MIN_WIDTH_SHARE, math.sqrt(n / largest)) for n in requests]


def label_step(runs: int) -> int:
    """Every how many runs a label is written, so that at most :data:`MAX_RUN_LABELS` are."""
    return max(1, -(-runs // MAX_RUN_LABELS))


def _draw_source_mix(ax: Axes, reports: Sequence[ReliabilityReport]) -> None:
    ax.set_title("Where answers came from, per run (bar width and n: the run's requests)",
                 loc="left", fontsize=10)
    ax.set_ylabel("% of requests")
    if not reports:
        _say(ax, "no runs")
        return
    positions = list(range(len(reports)))
    sizes = [report.sources.total_requests for report in reports]
    widths = bar_widths(sizes)
    bottoms = [0.0] * len(reports)
    for kind, colour in SOURCE_COLOURS:
        shares = [_share(report, kind) for report in reports]
        ax.bar(positions, shares, bottom=bottoms, color=colour, label=kind, width=widths)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    ax.set_ylim(0, 125)  # room above the bars for the n= notes
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.set_xlim(*_runs_xlim(len(reports)))
    upright = len(reports) > HORIZONTAL_LABELS
    shown = positions[::label_step(len(reports))]
    ax.set_xticks(shown, [_run_label(reports[i], upright=upright) for i in shown], fontsize=7,
                  rotation=90 if upright else 0)
    for i in shown:
        ax.text(i, 101, f"n={sizes[i]:,}", ha="center", va="bottom", fontsize=7,
                rotation=90 if upright else 0)
    ax.set_xlabel("run: start (UTC) and id")
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
    _plain_numbers(ax)
    _plain_numbers(refused)
    ax.legend(loc="upper left", bbox_to_anchor=(1.06, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)


def _draw_latency(ax: Axes, timeline: Sequence[Mapping[str, Any]],
                  reports: Sequence[ReliabilityReport], colours: Mapping[str, str]) -> None:
    ax.set_title("Latency of answered calls per flush interval: p50 solid, p95 dashed "
                 "(failed look-ups: the panel below)", loc="left", fontsize=10)
    ax.set_ylabel("latency (ms)")
    rows = [row for row in timeline if row.get("p50_ms") is not None
            or row.get("p95_ms") is not None]
    if not rows:
        _say(ax, "no latency samples recorded")
        return
    segments: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:  # one line per provider and run: no line bridges the gap between runs
        segments.setdefault((str(row["provider"]), str(row.get("run_id"))), []).append(row)
    labelled: set[str] = set()
    for (name, _), points in segments.items():
        times = [_when(p["at"]) for p in points]
        label = None if name in labelled else name
        labelled.add(name)
        ax.plot(times, [_nan(p.get("p50_ms")) for p in points], color=colours[name],
                marker="." if len(points) < 50 else None, label=label)
        ax.plot(times, [_nan(p.get("p95_ms")) for p in points], color=colours[name],
                linestyle="--", alpha=0.8, marker="o" if len(points) < 50 else None,
                markersize=4, markerfacecolor="none")
    if len(reports) <= MAX_RUN_LABELS:
        for report in reports:
            started = report.started_at
            if started is not None:
                ax.axvline(_when(started.timestamp()), color="grey", linestyle=":",
                           linewidth=0.8)
    values = [v for row in rows for v in (row.get("p50_ms"), row.get("p95_ms"))
              if v is not None and v > 0]
    if values and max(values) / min(values) > 20:
        from matplotlib.ticker import LogLocator

        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    _plain_numbers(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    _date_axis(ax)


def _draw_failures(ax: Axes, timeline: Sequence[Mapping[str, Any]],
                   colours: Mapping[str, str], *, like: Axes) -> None:
    ax.set_title("Failed look-ups per flush interval (errors, not latencies; not-found "
                 "answers are not failures)", loc="left", fontsize=10)
    ax.set_ylabel("failed look-ups")
    ax.set_xlabel("time (UTC)")
    failed = [row for row in timeline if row.get("failures")]
    if not failed:
        _say(ax, "no failed look-ups recorded")
        return
    for name, colour in colours.items():
        points = [row for row in failed if str(row["provider"]) == name]
        if not points:
            continue
        times = [_when(p["at"]) for p in points]
        counts = [int(p["failures"]) for p in points]
        ax.vlines(times, 0, counts, color=colour, linewidth=1.5)
        ax.scatter(times, counts, marker="x", color=colour, zorder=3, label=name)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # look-ups: whole numbers
    ax.set_ylim(bottom=0)
    if like.lines:  # the same time axis as the latency panel above
        ax.set_xlim(like.get_xlim())
    _plain_numbers(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    _date_axis(ax)


def _plain_numbers(ax: Axes) -> None:
    """Label ``ax``'s y axis in plain numbers: ``0.5``, ``300``, ``1,000`` (no ``3x10^2``, no
    offset or scientific notation); minor ticks of a log axis go unlabelled."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _plain(value: float, _position: int | None = None) -> str:
    if value == 0 or abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _date_axis(ax: Axes) -> None:
    # matplotlib.dates has no type hints, hence the ignores.
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]


def _when(epoch_s: float) -> float:
    from matplotlib.dates import date2num

    return float(date2num(datetime.fromtimestamp(float(epoch_s), tz=UTC)))  # type: ignore[no-untyped-call]


def _runs_xlim(runs: int) -> tuple[float, float]:
    """The x range of the per-run panels: runs at 0..runs-1, a few runs at the usual width."""
    margin = max(0.0, (6 - runs) / 2)
    return -0.5 - margin, runs - 0.5 + margin


def _share(report: ReliabilityReport, kind: str) -> float:
    total = report.sources.total_requests
    return 100.0 * report.sources.count(kind) / total if total else 0.0


def _run_label(report: ReliabilityReport, *, upright: bool) -> str:
    started = report.started_at
    when = started.strftime("%m-%d %H:%M") if started else "?"
    return f"{when} {report.run_id[:6]}" if upright else f"{when}\n{report.run_id[:6]}"


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
