"""``stats``: the reliability statistics of past runs, read from the statistics store.

The store is opened for reading only (``create=False``): the command never creates the file,
a table or a run. Exit codes: 0 shown, 1 no run matches, 2 bad input, configuration or store.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sqlite3
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..stats.plot import PLOT_INSTALL
from .common import EXIT_OK, EXIT_SOME_FAILED, add_config_option, fail

if TYPE_CHECKING:
    from ..stats.report import Alert, ReliabilityReport
    from ..stats.store import StatsStore

#: Exit code when the store holds no run the selection matches.
EXIT_NO_RUNS = EXIT_SOME_FAILED


def register(commands: Any) -> None:
    """Add the ``stats`` sub-command."""
    stats = commands.add_parser(
        "stats", help="show the reliability statistics of past runs",
        description="Reads the statistics store (stats.path in the configuration, else the "
                    "user's, stats.sqlite3 in the user state directory, whichever config "
                    "wrote it) and shows the last run, or the runs "
                    "selected, summed: source mix, per-provider success rate, retries, "
                    "latency, breaker trips, top error codes and alerts. Exit code 0 when "
                    "shown, 1 when no run matches, 2 on bad input, configuration or store.")
    which = stats.add_mutually_exclusive_group()
    which.add_argument("--run", metavar="ID", action="append", dest="run_ids",
                       help="this run (repeat to sum several); default: the last run")
    which.add_argument("--since", metavar="DURATION",
                       help="the runs started within DURATION (30m, 12h, 7d), summed and listed")
    which.add_argument("--all", action="store_true", help="every stored run, summed and listed")
    output = stats.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print JSON: the run's report, or with --since/--all/several --run "
                             '{"summary": summed report, "runs": [one report per run]}')
    output.add_argument("--prometheus", action="store_true",
                        help="print the (summed) report in Prometheus' text format")
    stats.add_argument("--plot", metavar="FILE.png",
                       help="also draw the source mix per run and provider latency over time "
                            f"into a PNG (needs matplotlib: {PLOT_INSTALL})")
    add_config_option(stats)
    stats.set_defaults(run=run_stats)


def run_stats(args: argparse.Namespace) -> int:
    """``resilient-provider stats``."""
    from ..config import Settings, parse_duration
    from ..errors import ConfigError
    from ..stats.store import StatsStore, StatsStoreError

    since: float | None = None
    if args.since is not None:
        try:
            seconds = parse_duration(args.since)
        except ConfigError:
            seconds = -1.0
        if seconds <= 0:
            return fail(f"--since {args.since!r} is not a positive duration: give one like "
                        "30m, 12h or 7d")
        since = time.time() - seconds
    if args.plot is not None:
        if importlib.util.find_spec("matplotlib") is None:
            return fail(f"matplotlib is needed for --plot: {PLOT_INSTALL}")
        if not Path(args.plot).resolve().parent.is_dir():
            return fail(f"cannot write {args.plot}: its directory does not exist")
    try:
        if args.config:
            store = StatsStore(Settings.from_yaml(args.config).stats_path(), create=False)
        else:
            store = _latest_store(Settings().stats_path())
    except ConfigError as exc:
        return fail(str(exc))
    except StatsStoreError as exc:
        return fail(f"{exc} (runs write it when stats.enabled is on; stats.path sets where: "
                    "pass --config with the configuration that set it)")
    try:
        return _show(store, args, since)
    except sqlite3.Error as exc:
        return fail(f"cannot read the statistics store {store.path}: {exc}")
    finally:
        store.close()


def _latest_store(default: Path) -> StatsStore:
    """Without ``--config``: of the stores this user's runs wrote (the default one, and those
    a configuration's ``stats.path`` named: :mod:`~resilient_provider.stats.known_stores`), the
    one holding the latest run; the default one (or its error) when none has a run.

    Raises:
        StatsStoreError: no store at all.
    """
    from ..stats.known_stores import known_stores
    from ..stats.store import StatsStore, StatsStoreError

    latest: tuple[float, StatsStore] | None = None
    for path in known_stores():
        try:
            store = StatsStore(path, create=False)
            started = store.last_started_at()
        except (StatsStoreError, sqlite3.Error):
            continue
        if started is not None and (latest is None or started > latest[0]):
            if latest is not None:
                latest[1].close()
            latest = (started, store)
        else:
            store.close()
    if latest is None:
        return StatsStore(default, create=False)
    if latest[1].path != default:
        print(f"resilient-provider: reading {latest[1].path}, the store with the latest run "
              "(--config reads a configuration's own)", file=sys.stderr)
    return latest[1]


def _show(store: StatsStore, args: argparse.Namespace, since: float | None) -> int:
    run_ids = _select(store, args, since)
    if isinstance(run_ids, int):
        return run_ids
    listing = since is not None or args.all or len(run_ids) > 1
    summary = store.report(run_ids)
    per_run = store.reports(run_ids) if len(run_ids) > 1 else [summary]
    if args.json:
        shown = summary.to_dict()
        if listing:
            shown = {"summary": shown, "runs": [report.to_dict() for report in per_run]}
        print(json.dumps(shown, indent=2, default=str))
    elif args.prometheus:
        from ..stats.export import prometheus_text

        sys.stdout.write(prometheus_text(summary))
    else:
        write_stats_table(summary, per_run if listing else [], sys.stdout)
    if args.plot is not None:
        from ..stats.plot import plot_runs

        try:
            plot_runs(per_run, store.timeline(run_ids), args.plot)
        except OSError as exc:
            return fail(f"cannot write {args.plot}: {exc.strerror or exc}")
        print(f"wrote {args.plot}", file=sys.stderr)
    return EXIT_OK


def _select(store: StatsStore, args: argparse.Namespace, since: float | None) -> list[str] | int:
    """The run ids asked for, or the exit code when there are none (or one is unknown)."""
    if args.run_ids:
        for run_id in args.run_ids:
            if not store.has_run(run_id):
                return fail(f"unknown run id {run_id!r} in {store.path} "
                            "(`resilient-provider stats --all` lists the runs)")
        return list(dict.fromkeys(args.run_ids))
    if since is not None:
        ids = store.run_ids(since=since)
        if not ids:
            return _no_runs(f"no run started within {args.since} in {store.path}"
                            if store.last_run_id() else None, store)
        return ids
    ids = store.run_ids() if args.all else [r for r in [store.last_run_id()] if r]
    return ids if ids else _no_runs(None, store)


def _no_runs(message: str | None, store: StatsStore) -> int:
    print(f"resilient-provider: {message or f'no statistics recorded yet in {store.path}'}",
          file=sys.stderr)
    return EXIT_NO_RUNS


# --- the table --------------------------------------------------------------------------------


#: The per-run list shows at most this many runs (the latest); ``--json`` gives them all.
MAX_LISTED_RUNS = 20


def write_stats_table(report: ReliabilityReport, runs: Sequence[ReliabilityReport],
                      stream: TextIO, *, width: int | None = None) -> None:
    """``report`` for people: header, source mix, providers, alerts; then ``runs`` listed."""
    from rich.table import Table  # imported here so JSON output stays light

    from .render import house_console, house_table, plural

    console = house_console(stream, width)

    def section(title: str, *columns: str) -> Table:
        console.print()
        console.print(title, style="bold", markup=False)
        made = house_table()
        for column in columns:
            wide = column in ("top errors", "skipped")
            made.add_column(column, justify="left" if wide or column in (columns[0], "breaker")
                            else "right", no_wrap=not wide)
        return made

    console.print(_header(report), markup=False)
    total = report.sources.total_requests
    sources = section(plural(total, "request"), "source", "requests", "share")
    for source, count in report.sources.items():
        sources.add_row(source, f"{count:,}",
                        _pct(100.0 * count / total) if total else "-")
    console.print(sources)
    console.print(f"coalesced requests {report.coalesced_requests:,}; known unknowns served "
                  f"by the negative cache {report.not_found_cache_hits:,}; cache errors: "
                  f"{_codes(report.cache_errors, limit=5) or 'none'}", markup=False)

    providers = section("providers", "provider", "calls", "success", "not found", "retries",
                        "p50", "p95", "p99", "breaker", "trips", "skipped", "top errors")
    for name, view in report.providers.items():
        latency, breaker = view.latency, view.breaker
        providers.add_row(
            name, f"{view.calls:,}", _pct(view.success_rate) if view.answered else "-",
            f"{view.not_found:,}", f"{view.retries:,}",
            *(_ms(ms) for ms in (latency.p50_ms, latency.p95_ms, latency.p99_ms)),
            (breaker.state if breaker is not None else None) or "-",
            str(breaker.trips) if breaker is not None else "-",
            _codes(view.skipped) or "-", _codes(view.failures) or "-")
    console.print(providers)
    if report.upstreams:
        upstreams = section("upstreams", "upstream", "requests", "per symbol", "429s",
                            "cool-downs", "cooling", "rate")
        for name, up in report.upstreams.items():
            served = report.served_via(up)
            rate = ("-" if up.rate_per_s is None else
                    f"{up.rate_per_s:.1f}/s ({up.min_rate_per_s:.1f}-{up.max_rate_per_s:.1f})")
            upstreams.add_row(name, f"{up.requests:,}",
                              f"{up.requests / served:.2f}" if served else "-",
                              f"{up.rate_limited:,} ({up.rate_limited_share:.1f}%)",
                              f"{up.cooldowns:,}", f"{up.cooling_s:.1f} s", rate)
        console.print(upstreams)

    alerts = _grouped_alerts(report.alerts)
    console.print()
    console.print("alerts" + ("" if alerts else ": none"), style="bold", markup=False)
    for line in alerts:
        console.print(f"  {line}", markup=False)
    if runs:
        shown = list(runs)[-MAX_LISTED_RUNS:]
        more = f" (the latest {len(shown)}; --json lists all)" if len(shown) < len(runs) else ""
        kinds = [kind for kind, _ in report.sources.items()]
        listed = section(f"{plural(len(runs), 'run')}{more}", "run", "started", "ended",
                         "requests", *kinds, "alerts")
        for run in shown:
            listed.add_row(run.run_id, _when(run.started_at),
                           _when(run.stored.ended_at if run.stored else None, "not ended"),
                           f"{run.sources.total_requests:,}",
                           *(f"{count:,}" for _, count in run.sources.items()),
                           str(len(run.alerts)))
        console.print(listed)


def _header(report: ReliabilityReport) -> str:
    stored = report.stored
    runs = (stored.runs if stored is not None else 0) or 1
    ended = stored.ended_at if stored is not None else None
    end = f"ended {_when(ended)}" if ended else (
        "not ended" if runs == 1 else "not all ended (a run is still going or was killed)")
    config = f"config {(stored.config_fingerprint if stored is not None else '') or '-'}"
    if runs == 1:
        return f"run {report.run_id} | started {_when(report.started_at)} | {end} | {config}"
    return f"{runs} runs | first started {_when(report.started_at)} | {end} | {config}"


def _grouped_alerts(alerts: Sequence[Alert]) -> list[str]:
    """One line per (alert, provider): its latest message, and in how many runs it was raised
    when several runs were summed."""
    latest: dict[tuple[str, str], str] = {}
    seen: dict[tuple[str, str], int] = {}
    for alert in alerts:  # oldest first: the last message wins
        key = (alert.name, alert.provider or "")
        latest[key] = alert.message
        seen[key] = seen.get(key, 0) + 1
    return [f"{name}{f' ({provider})' if provider else ''}: {message}"
            + (f" [{seen[name, provider]} runs]" if seen[name, provider] > 1 else "")
            for (name, provider), message in latest.items()]


def _when(moment: datetime | None, missing: str = "-") -> str:
    if moment is None:
        return missing
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def _codes(counts: Mapping[str, int], limit: int = 3) -> str:
    """``"rate_limited 12, timeout 3 (+2 more)"``: the most frequent codes first."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{code} {count:,}" for code, count in ranked[:limit])
    return shown + (f" (+{len(ranked) - limit} more)" if len(ranked) > limit else "")
