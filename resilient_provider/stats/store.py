"""The statistics store: every run's counters and latency histograms in one SQLite file.

A *run* is one façade's life between construction (or :meth:`reset_stats`) and ``close()``: a
``run_id``, its start and end, a fingerprint of its configuration, the process that ran it.
Flushes add the counters counted since the previous flush (``value = value + delta`` in one
transaction), so nothing is counted twice, a flush that fails is simply retried with a larger
delta next time, and any number of processes can write at once: SQLite's write lock (WAL mode,
with a busy timeout) makes each flush atomic, and an increment is never lost to another
writer. A killed process loses only what it counted since its last flush.

Opening for writing moves a damaged store aside to ``<name>.corrupt-<UTC stamp>`` with one
WARNING and starts afresh (else every later run would silently keep no statistics), and creates
a new one user-only and whole, whatever the umask: see :mod:`.store_files`.

Reads turn counters back into *reports* (:class:`~.report.ReliabilityReport`, made by the same
builder as the live one: see :mod:`.builder`), for one run or the sum of several (latency
percentiles come from the summed histograms).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .builder import CounterKey, StoredRun, stored_report
from .report import Alert, ReliabilityReport
from .store_files import open_for_writing

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    ended_at REAL,
    last_flush_at REAL,
    config_fingerprint TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    providers TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);
CREATE TABLE IF NOT EXISTS counters (
    run_id TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL, metric TEXT NOT NULL,
    label TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (run_id, scope, name, metric, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS breaker_states (
    run_id TEXT NOT NULL, provider TEXT NOT NULL, state TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (run_id, provider)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL, at REAL NOT NULL, provider TEXT NOT NULL, calls INTEGER NOT NULL,
    failures INTEGER NOT NULL, p50_ms REAL, p95_ms REAL
);
CREATE INDEX IF NOT EXISTS samples_by_run ON samples (run_id, at);
CREATE TABLE IF NOT EXISTS alerts (
    run_id TEXT NOT NULL, name TEXT NOT NULL, provider TEXT NOT NULL, at REAL NOT NULL,
    message TEXT NOT NULL, value REAL NOT NULL, threshold REAL NOT NULL,
    PRIMARY KEY (run_id, name, provider)
) WITHOUT ROWID;
"""

_RUN_TABLES = ("counters", "breaker_states", "samples", "alerts")


class StatsStoreError(RuntimeError):
    """The store file is missing, unreadable or not a statistics store."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Who wrote a run: its id, start (epoch seconds), configuration fingerprint, process,
    and its provider chain, primary first (reports list providers in that order)."""

    run_id: str
    started_at: float
    config_fingerprint: str
    pid: int
    host: str
    providers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sample:
    """One provider's figures over one flush interval: a point of the timeline."""

    provider: str
    calls: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as stored: the latest figures of each (alert, provider) per run."""

    name: str
    provider: str | None
    message: str
    value: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Flush:
    """What one flush writes: counter increments, breaker states, samples and alerts."""

    at: float
    counters: Mapping[CounterKey, int]
    breaker_states: Mapping[str, str]
    samples: Sequence[Sample] = ()
    alerts: Sequence[AlertRecord] = ()


class StatsStore:
    """Runs and their counters in the SQLite file at ``path``; safe across threads and processes.

    Args:
        path: the database file (its directory is created when ``create``).
        timeout_s: how long a write waits for another writer's lock before failing.
        create: create the file and tables if missing; False (readers such as the ``stats``
            command) raises :class:`StatsStoreError` for a missing file instead.
    """

    def __init__(self, path: str | Path, *, timeout_s: float = 10.0, create: bool = True) -> None:
        self.path = Path(path).expanduser()
        if not create and not self.path.is_file():
            what = "a directory" if self.path.is_dir() else "not a file"
            raise StatsStoreError(f"no statistics store at {self.path}" if not
                                  self.path.exists() else f"{self.path} is {what}, not a "
                                  "statistics store")
        self._lock = threading.Lock()
        try:
            self._db = (open_for_writing(self.path, _SCHEMA, partial(self._connect, timeout_s))
                        if create else self._connect(timeout_s))
            if not create:
                self._db.execute("SELECT 1 FROM runs LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise StatsStoreError(f"{self.path} is not a usable statistics store: {exc}") from exc

    def set_timeout(self, timeout_s: float) -> None:
        """From now on, wait at most ``timeout_s`` for another writer's lock (a closing
        flush bounded by what is left of its wait)."""
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {max(0, round(timeout_s * 1000))}")

    def _connect(self, timeout_s: float) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None,
                               check_same_thread=False)

    # --- writing -----------------------------------------------------------------------------

    def start_run(self, run: RunInfo) -> None:
        """Record that ``run`` has started (again: an existing run keeps its counters)."""
        with self._transaction() as db:
            db.execute("INSERT INTO runs (run_id, started_at, config_fingerprint, pid, host, "
                       "providers) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
                       (run.run_id, run.started_at, run.config_fingerprint, run.pid, run.host,
                        ",".join(run.providers)))

    def write(self, run_id: str, flush: Flush) -> None:
        """Add one flush to ``run_id``, all of it or (on an error) none of it."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO counters VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(run_id, scope, name, metric, label) DO UPDATE SET value = value + excluded.value",
                [(run_id, *key, value) for key, value in flush.counters.items() if value])
            db.executemany(
                "INSERT INTO breaker_states VALUES (?, ?, ?, ?) ON CONFLICT (run_id, provider) "
                "DO UPDATE SET state = excluded.state, at = excluded.at",
                [(run_id, name, state, flush.at) for name, state in flush.breaker_states.items()])
            db.executemany(
                "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, flush.at, s.provider, s.calls, s.failures, s.p50_ms, s.p95_ms)
                 for s in flush.samples])
            db.executemany(
                "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(run_id, name, provider) DO UPDATE SET at = excluded.at, "
                "message = excluded.message, value = excluded.value, "
                "threshold = excluded.threshold",
                [(run_id, a.name, a.provider or "", flush.at, a.message, a.value, a.threshold)
                 for a in flush.alerts])
            db.execute("UPDATE runs SET last_flush_at = ? WHERE run_id = ?", (flush.at, run_id))

    def end_run(self, run_id: str, ended_at: float) -> None:
        """Mark ``run_id`` as ended at epoch ``ended_at``."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET ended_at = ? WHERE run_id = ?", (ended_at, run_id))

    def prune(self, *, older_than: float, keep: str | None = None) -> int:
        """Delete the runs last heard of before epoch ``older_than``, except ``keep`` (the
        pruning run itself, which may be stamped by an injected clock); return how many."""
        with self._transaction() as db:
            old = [row[0] for row in db.execute(
                "SELECT run_id FROM runs WHERE COALESCE(ended_at, last_flush_at, started_at) < ?"
                " AND run_id IS NOT ?", (older_than, keep))]
            for table in ("runs", *_RUN_TABLES):
                db.executemany(f"DELETE FROM {table} WHERE run_id = ?", [(r,) for r in old])
        return len(old)

    # --- reading -----------------------------------------------------------------------------

    def run_ids(self, *, since: float | None = None) -> list[str]:
        """Ids of the runs started at or after epoch ``since`` (all when None), newest first."""
        query = "SELECT run_id FROM runs"
        params: tuple[float, ...] = ()
        if since is not None:
            query += " WHERE started_at >= ?"
            params = (since,)
        return [row[0] for row in self._read(query + " ORDER BY started_at DESC", params)]

    def last_run_id(self) -> str | None:
        """The id of the most recently started run, if any."""
        ids = self.run_ids()
        return ids[0] if ids else None

    def last_started_at(self) -> float | None:
        """When the most recently started run started (epoch seconds), if any."""
        rows = self._read("SELECT MAX(started_at) FROM runs", ())
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def has_run(self, run_id: str) -> bool:
        """Whether a run with this id is stored."""
        return bool(self._read("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)))

    def report(self, run_ids: Sequence[str]) -> ReliabilityReport:
        """One report for ``run_ids``: one run's, or the sum of several runs' counters."""
        ids = list(dict.fromkeys(run_ids))
        runs = self._runs(ids)
        totals: dict[CounterKey, int] = {}
        for scope, name, metric, label, value in self._in_runs(
                "SELECT scope, name, metric, label, SUM(value) FROM counters WHERE run_id IN "
                "({marks}) GROUP BY scope, name, metric, label", ids):
            totals[scope, name, metric, label] = int(value)
        states = dict(self._in_runs(
            "SELECT provider, state FROM breaker_states WHERE run_id IN ({marks}) ORDER BY at",
            ids)) if len(ids) == 1 else {}
        alerts = [Alert(name, message, value, threshold, provider or None)
                  for name, provider, message, value, threshold in self._in_runs(
                      "SELECT name, provider, message, value, threshold FROM alerts "
                      "WHERE run_id IN ({marks}) ORDER BY at", ids)]
        return stored_report(runs, totals, states, alerts)

    def reports(self, run_ids: Sequence[str]) -> list[ReliabilityReport]:
        """One report per run of ``run_ids``, oldest first."""
        ordered = sorted(self._runs(list(run_ids)), key=lambda run: run.started_at)
        return [self.report([run.run_id]) for run in ordered]

    def timeline(self, run_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Per flush interval and provider: ``{"at", "run_id", "provider", "calls",
        "failures", "p50_ms", "p95_ms"}``, oldest first."""
        columns = ("at", "run_id", "provider", "calls", "failures", "p50_ms", "p95_ms")
        rows = self._in_runs(f"SELECT {', '.join(columns)} FROM samples WHERE run_id IN "
                             "({marks}) ORDER BY at", list(dict.fromkeys(run_ids)))
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def close(self) -> None:
        """Close the connection; idempotent."""
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"StatsStore({str(self.path)!r})"

    # --- internals ---------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    def _read(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(query, tuple(params)))

    def _in_runs(self, query: str, run_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(run_ids), 500):  # within SQLite's parameter limit
            part = run_ids[start:start + 500]
            rows += self._read(query.format(marks=",".join("?" * len(part))), part)
        return rows

    def _runs(self, run_ids: Sequence[str]) -> list[StoredRun]:
        rows = self._in_runs("SELECT run_id, started_at, ended_at, config_fingerprint, providers "
                             "FROM runs WHERE run_id IN ({marks})", run_ids)
        return [StoredRun(run_id, started_at, ended_at, fingerprint,
                          tuple(name for name in (providers or "").split(",") if name))
                for run_id, started_at, ended_at, fingerprint, providers in rows]


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on an error) under the store's lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            self._lock.release()
