"""Reports from stored counters: the shape of ``get_reliability_stats()``, for one run or many.

The store keeps flat counters (:data:`~.counters.CounterKey` to a sum) and latency histograms;
:func:`build_report` turns them back into the nested report the in-process statistics give, so
every reader (the ``stats`` command, exports, plots) handles one shape. Stored reports add
``runs``, ``run_ids``, ``ended_at`` (None while a run is going or was killed),
``config_fingerprint`` and ``alerts``; their percentiles are bucket bounds (see
:mod:`.histogram`) and their ``breaker`` holds the last state seen and the trips.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..result import iso_utc
from .counters import CounterKey, percent, source_rates
from .histogram import percentile_of_buckets


def build_report(runs: Sequence[Mapping[str, Any]], totals: Mapping[CounterKey, int],
                 breaker_states: Mapping[str, str],
                 alerts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A report (the shape of ``get_reliability_stats()``) from stored counters."""
    by_source = {label: v for (scope, _, _, label), v in totals.items() if scope == "source"}
    providers: dict[str, dict[str, Any]] = {}
    for (scope, name, metric, label), value in totals.items():
        if scope != "provider":
            continue
        view = providers.setdefault(name, _empty_view())
        if metric in ("failures", "skipped"):
            view[metric][label] = value
        elif metric == "latency_bucket":
            view["buckets"][int(label)] = value
        else:
            view[metric] = value
    for name in breaker_states:
        providers.setdefault(name, _empty_view())
    shown: dict[str, dict[str, Any]] = {}
    order = _chain_order(runs)
    for name, view in sorted(providers.items(),
                             key=lambda item: (order.get(item[0], len(order)), item[0])):
        buckets = view.pop("buckets")
        trips = view.pop("trips")
        view["success_rate"] = percent(view["successes"], view["calls"])
        view["latency_ms"] = {f"p{p}": percentile_of_buckets(buckets, p) for p in (50, 95, 99)}
        view["breaker"] = {"state": breaker_states.get(name), "trips": trips}
        shown[name] = view
    started = min((r["started_at"] for r in runs), default=None)
    ended = [r["ended_at"] for r in runs]
    single = runs[0] if len(runs) == 1 else None
    return {
        "run_id": single["run_id"] if single else f"{len(runs)} runs",
        "runs": len(runs),
        "run_ids": sorted(r["run_id"] for r in runs),
        "started_at": iso_utc(started) if started is not None else None,
        "ended_at": (iso_utc(max(ended)) if ended and all(e is not None for e in ended)
                     else None),
        "config_fingerprint": (single["config_fingerprint"] if single else
                               ",".join(sorted({r["config_fingerprint"] for r in runs}))),
        **source_rates(by_source),
        "providers": shown,
        "cache_errors": {label: v for (scope, _, _, label), v in totals.items()
                         if scope == "cache"},
        "coalesced_requests": totals.get(("coalesced", "", "requests", ""), 0),
        "alerts": list(alerts),
    }


def _empty_view() -> dict[str, Any]:
    """A provider's counters before any is read (``buckets`` and ``trips`` are reshaped)."""
    return {"calls": 0, "successes": 0, "failures": {}, "skipped": {}, "retries": 0,
            "buckets": {}, "trips": 0}


def _chain_order(runs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Each provider's place: the chain order of the runs, primary first, oldest run first."""
    order: dict[str, int] = {}
    for run in sorted(runs, key=lambda r: r["started_at"]):
        for name in str(run.get("providers") or "").split(","):
            if name:
                order.setdefault(name, len(order))
    return order
