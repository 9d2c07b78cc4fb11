"""A façade's run on record: its counters written to the store, its alerts watched.

:class:`RunRecorder` writes what a :class:`~.counters.ReliabilityStats` counted since the last
write to a :class:`~.store.StatsStore` every ``stats.flush_interval_s`` (on a daemon thread), on
:meth:`~RunRecorder.close` and at interpreter exit, so a killed process loses at most one
interval. Each tick also checks the alert thresholds, so a long batch job is warned while it
runs even if nobody reads its statistics. A store that cannot be opened or written is logged
and skipped: statistics must never break the run they describe.

A façade dropped without ``close()`` is ended through :meth:`RunRecorder.close_soon`, which only
hands the work to the recorder's own thread. Its finalizer runs inside whatever garbage
collection pass finds it, on whichever thread allocated at that moment — possibly one that
holds a recorder's lock (a flush) or the registry lock of :mod:`.open_runs`; closing there
would wait for that lock for ever. ``SimpleQueue.put`` takes no lock such code can hold (it is
documented as safe in ``__del__`` and weakref callbacks), so the hand-off is all a finalizer
does.
"""

from __future__ import annotations

import hashlib
import os
import queue
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Protocol

from ..config import Settings
from ..logs import get_logger, run_scope
from .alerts import Alert, AlertMonitor
from .builder import CounterKey
from .counters import BreakerView, ReliabilityStats
from .histogram import percentile_of_buckets
from .known_stores import remember
from .open_runs import register, unregister
from .report import ReliabilityReport
from .store import AlertRecord, Flush, RunInfo, Sample, StatsStore, StatsStoreError
from .upstream_report import UpstreamReport

log = get_logger(__name__)


class Breaker(Protocol):
    """What the recorder reads of a circuit breaker."""

    def snapshot(self) -> BreakerView: ...


class Upstream(Protocol):
    """What the recorder reads of an upstream's request budget."""

    def snapshot(self) -> UpstreamReport: ...


def config_fingerprint(settings: Settings) -> str:
    """12 hex digits identifying a configuration (a one-way hash: no option value shows)."""
    return hashlib.sha256(settings.model_dump_json().encode()).hexdigest()[:12]


class RunRecorder:
    """Persists and watches one façade's statistics.

    Args:
        stats: the façade's counters.
        settings: the façade's settings (``stats`` section, fingerprint, store path).
        clock: epoch seconds (the façade's clock: tests pass a fake one).
        breakers: the providers' circuit breakers by name, primary first.
        upstreams: the upstream request budgets by name (their figures join the report).

    It keeps no reference to the façade: its thread and the exit hook hold the recorder, and a
    façade that holds them would never be collected.
    """

    def __init__(self, stats: ReliabilityStats, settings: Settings, *,
                 clock: Callable[[], float], breakers: Mapping[str, Breaker],
                 upstreams: Mapping[str, Upstream] | None = None) -> None:
        self.stats = stats
        self._upstreams = dict(upstreams or {})
        self._settings = settings.stats
        self._clock = clock
        self._breaker_objects = dict(breakers)
        self._fingerprint = config_fingerprint(settings)
        self.alerts = AlertMonitor(settings.stats.alerts, clock=clock)
        self._lock = threading.Lock()  # one flush at a time; a rollover is one step
        self._flushed: dict[CounterKey, int] = {}
        self._last_alerts: list[Alert] = []
        # Wakes the tick thread: _STOP (close() is done by the caller) or _CLOSE (close here).
        self._inbox: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._closed = False
        self._ended = threading.Event()  # set once a close() has finished
        self.pid = os.getpid()  # a forked child must not end its parent's run
        self.store = self._open_store(settings) if settings.stats.enabled else None
        if self.store is not None:
            self._start_run()
            self._prune()
        self._thread = threading.Thread(target=self._tick_until_stopped, daemon=True,
                                        name=f"rp-stats-{stats.run_id}")
        self._thread.start()
        register(self)

    def report(self) -> ReliabilityReport:
        """The live report (``reliability_report()``), with the ``alerts`` that hold now."""
        breakers = self._breakers()
        report = self.stats.snapshot(breakers).with_upstreams(
            {name: upstream.snapshot() for name, upstream in self._upstreams.items()})
        alerts = self.alerts.check(report, breakers)
        with self._lock:
            self._last_alerts = alerts
        return report.with_alerts(alerts)

    def flush(self) -> bool:
        """Write what was counted since the last flush; False when there is no store or the
        write failed (it is then retried, with everything since, at the next flush)."""
        with self._lock:
            return self._flush_locked()

    def rollover(self) -> None:
        """End this run (after a last flush) and start a new one with zeroed counters."""
        with self._lock:
            self._flush_locked()
            self._end_run()
            self.stats.reset()
            # The budgets count for the façade's life: the next run starts from here.
            self._flushed = {**self._trips(), **self._upstream_counters()}
            self._last_alerts = []
            self.alerts.reset()
            if self.store is not None:
                self._start_run()

    def close(self, *, wait_s: float = 10.0) -> None:
        """Stop the ticks, flush one last time and mark the run ended; idempotent.

        A close already under way elsewhere (the recorder's thread after :meth:`close_soon`)
        is waited for, up to ``wait_s``, so that the run is on record when this returns.
        """
        with self._lock:
            closing, self._closed = self._closed, True
        if closing:
            if self._thread is not threading.current_thread():
                self._ended.wait(timeout=wait_s)
            return
        give_up_at = time.monotonic() + wait_s
        try:
            if self._thread is not threading.current_thread():
                self._inbox.put(_STOP)
                self._thread.join(timeout=wait_s)
            with run_scope(self.stats.run_id):
                self.report()  # the alerts that hold at the end are logged and stored too
            # Bounded (exit passes a second): a tick's flush holds the lock at most the
            # store's busy timeout, and the last flush is retried only until wait_s is up.
            if self._lock.acquire(timeout=max(0.0, give_up_at - time.monotonic())):
                try:
                    with run_scope(self.stats.run_id):
                        self._flush_locked(retry_until=give_up_at)
                        self._end_run()
                        if self.store is not None:
                            self.store.close()
                finally:
                    self._lock.release()
            else:
                log.warning("statistics of run %s were not flushed at close: a flush was "
                            "still waiting for the store after %gs", self.stats.run_id, wait_s)
            unregister(self)
        finally:
            self._ended.set()

    def close_soon(self) -> None:
        """Have the recorder's own thread :meth:`close` it; returns at once.

        Safe to call from a finalizer or a garbage-collection pass on any thread: it takes no
        lock (see the module docstring). In a forked child, for a recorder of the parent, it
        does nothing: the thread that would close it stayed in the parent, whose run it is.
        """
        self._inbox.put(_CLOSE)

    # --- internals ---------------------------------------------------------------------------

    def _breakers(self) -> dict[str, BreakerView]:
        return {name: breaker.snapshot() for name, breaker in self._breaker_objects.items()}

    def _tick_until_stopped(self) -> None:
        while True:
            try:
                message = self._inbox.get(timeout=self._settings.flush_interval_s)
            except queue.Empty:
                message = None
            if message == _CLOSE:
                try:
                    self.close()
                except Exception as exc:  # noqa: BLE001 - nobody is there to hear it
                    log.warning("closing statistics failed: %s: %s", type(exc).__name__, exc)
                return
            if message == _STOP:
                return
            with run_scope(self.stats.run_id):
                try:
                    self.report()  # checks (and logs) the alerts
                    self.flush()
                except Exception as exc:  # noqa: BLE001 - a tick must never kill the thread
                    log.warning("statistics tick failed: %s: %s", type(exc).__name__, exc)

    def _flush_locked(self, *, retry_until: float | None = None) -> bool:
        """Write one flush; a store busy with other writers is retried until monotonic
        ``retry_until`` (the closing flush), else the flush waits for the next tick."""
        if self.store is None:
            return False
        now = self._clock()
        breakers = self._breakers()
        totals = self.stats.totals()
        totals.update(self._trips(breakers))
        totals.update(self._upstream_counters())
        delta = {key: value - self._flushed.get(key, 0) for key, value in totals.items()
                 if value > self._flushed.get(key, 0)}
        flush = Flush(at=now, counters=delta,
                      breaker_states={name: str(b.state) for name, b in breakers.items()},
                      samples=_samples(delta),
                      alerts=[AlertRecord(a.name, a.provider, a.message, a.value, a.threshold)
                              for a in self._last_alerts])
        while True:
            try:
                if retry_until is not None:
                    self.store.set_timeout(
                        min(STORE_BUSY_TIMEOUT_S, max(0.0, retry_until - time.monotonic())))
                self.store.write(self.stats.run_id, flush)
                break
            except (sqlite3.Error, OSError) as exc:
                if (retry_until is not None and _is_busy(exc)
                        and time.monotonic() + _BUSY_RETRY_S < retry_until):
                    time.sleep(_BUSY_RETRY_S)  # real time: another process holds the lock
                    continue
                log.warning("could not write statistics to %s (kept for the next flush): "
                            "%s: %s", self.store.path, type(exc).__name__, exc)
                return False
        self._flushed = totals
        return True

    def _upstream_counters(self) -> dict[CounterKey, int]:
        """The upstream budgets' counts as flat counters (what the store sums)."""
        return {("upstream", name, metric, label): count
                for name, upstream in self._upstreams.items()
                for metric, label, count in upstream.snapshot().counters() if count}

    def _trips(self, breakers: Mapping[str, BreakerView] | None = None) -> dict[CounterKey, int]:
        breakers = self._breakers() if breakers is None else breakers
        return {("provider", name, "trips", ""): b.trips for name, b in breakers.items()
                if b.trips}

    def _open_store(self, settings: Settings) -> StatsStore | None:
        path = settings.stats_path()
        try:
            store = StatsStore(path, timeout_s=STORE_BUSY_TIMEOUT_S)
        except (StatsStoreError, OSError) as exc:
            log.warning("statistics will not be kept: cannot open %s: %s", path, exc)
            return None
        remember(path)  # a bare `resilient-provider stats` then finds this store too
        return store

    def _start_run(self) -> None:
        assert self.store is not None
        run = RunInfo(self.stats.run_id, self.stats.started_at, self._fingerprint, os.getpid(),
                      socket.gethostname(), providers=tuple(self._breakers()))
        try:
            self.store.start_run(run)
        except sqlite3.Error as exc:
            log.warning("could not record the start of run %s: %s", run.run_id, exc)

    def _end_run(self) -> None:
        if self.store is None:
            return
        try:
            self.store.end_run(self.stats.run_id, self._clock())
        except sqlite3.Error as exc:
            log.warning("could not record the end of run %s: %s", self.stats.run_id, exc)

    def _prune(self) -> None:
        assert self.store is not None
        try:
            # By the real clock: other processes stamp their runs by it, and an injected
            # clock (a test's, a year ahead) would prune their running runs.
            removed = self.store.prune(older_than=time.time() - self._settings.retention,
                                         keep=self.stats.run_id)
        except sqlite3.Error as exc:
            log.warning("could not prune old statistics: %s", exc)
            return
        if removed:
            log.info("pruned %d run(s) older than the statistics retention", removed)


def _samples(delta: Mapping[CounterKey, int]) -> list[Sample]:
    """One timeline point per provider called during the interval ``delta`` covers: its
    look-ups, failures, and the latency of its calls that answered (a failed call, such as a
    refused connection, is a failure, not a fast answer)."""
    calls: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    buckets: dict[str, dict[int, int]] = {}
    for (scope, name, metric, label), value in delta.items():
        if scope != "provider":
            continue
        if metric == "calls":
            calls[name] += value
        elif metric == "failures":
            failures[name] += value
        elif metric == "answered_latency_bucket":
            buckets.setdefault(name, {})[int(label)] = value
    return [Sample(name, calls[name], failures[name],
                   percentile_of_buckets(buckets.get(name, {}), 50),
                   percentile_of_buckets(buckets.get(name, {}), 95))
            for name in sorted(set(calls) | set(buckets))]


def _is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying another connection holds the lock."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


#: Seconds a flush waits for other processes' flushes (each a few ms) before it is left for
#: the next tick: short, so that a close (a second at exit) is never held by a tick's flush.
STORE_BUSY_TIMEOUT_S = 1.0

#: Seconds between tries of the closing flush while the store is busy.
_BUSY_RETRY_S = 0.05

#: What the tick thread's inbox carries besides nothing (a timeout: tick).
_STOP = "stop"
_CLOSE = "close"
