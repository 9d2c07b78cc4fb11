"""``ResilientProvider``: the one object analysis code talks to."""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from os import PathLike
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, overload

from .cache import CacheBackend, open_cache
from .cache.not_found import open_not_found
from .config import Settings
from .facade_async import AsyncTwins
from .facade_cache import CacheMethods
from .facade_history import HistoryMethods
from .logs import get_logger
from .progress import progress_bar
from .providers.protocol import Provider
from .providers.registry import create_provider
from .result import FetchResult
from .shared.fleet import open_fleet
from .stats import ReliabilityReport, ReliabilityStats
from .stats.recorder import RunRecorder
from .strategy.batch import BatchPlan, plan_batch
from .strategy.budgets import budgets_for, upstream_of
from .strategy.cascade import Cascade
from .strategy.coalesce import Coalescer
from .strategy.engine import Engine
from .strategy.guarded import GuardedProvider
from .strategy.rate_memory import RATES_FILE_NAME, RateMemory
from .symbols import normalize_symbol
from .threads import DaemonThreadPool

if TYPE_CHECKING:
    import pandas as pd

log = get_logger(__name__)


class ResilientProvider(AsyncTwins, CacheMethods, HistoryMethods):
    """Market data for tickers through a cascading fallback that never raises for outages.

    For each symbol: each provider in order (skipping one whose breaker is open) → a cache entry
    younger than ``cache.fresh_for`` → one younger than ``cache.max_stale_age`` → a tagged error.
    Concurrent requests for the same symbol share one walk of that chain; at most
    ``max_concurrent_requests`` provider calls are in flight at once (a call waiting out a
    retry backoff holds none).

    Args:
        providers: the chain, first is primary; default: built from ``settings.providers``.
        cache: a :class:`~resilient_provider.cache.CacheBackend`; default: from
            ``settings.cache`` (diskcache under the user's cache directory).
        settings: validated settings; default: :class:`Settings` with env overrides.
        clock: epoch seconds; drives ages, breakers and the deadline's bookkeeping. A clock
            with a ``sleep(seconds)`` method is also used for retry waits (tests pass
            :class:`~resilient_provider.testing.FakeClock` and never sleep).
        rng: randomness for retry jitter (seed it for reproducible runs).

    The façade closes what it built (providers from settings, the default cache), not what it
    was given. Use it as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        providers: Sequence[Provider] | None = None,
        *,
        cache: CacheBackend | None = None,
        settings: Settings | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        # Fleet mode (settings.shared): None when off. Its parts stand in for local ones below.
        self.fleet = open_fleet(self.settings)
        self._clock: Callable[[], float] = clock if clock is not None else time.time
        sleep: Callable[[float], None] = getattr(self._clock, "sleep", time.sleep)
        self._owned: list[Provider | CacheBackend] = []
        if providers is None:
            providers = [
                create_provider(entry, timeout_s=self.settings.policy_for(entry.name).timeout_s)
                for entry in self.settings.providers
            ]
            self._owned.extend(providers)
        if cache is None:
            cache = (self.fleet.cache(lambda: open_cache(self.settings.cache, clock=self._clock),
                                      clock=self._clock) if self.fleet is not None
                     else open_cache(self.settings.cache, clock=self._clock))
            self._owned.append(cache)
        self.cache = cache
        self.stats = ReliabilityStats(clock=self._clock)
        rng = rng if rng is not None else random.Random()
        # Provider calls in flight, all providers together; held for a call, not its backoffs.
        self._slots = threading.BoundedSemaphore(self.settings.max_concurrent_requests)
        self._rates = RateMemory(self.settings.stats_path().parent / RATES_FILE_NAME)
        self.upstreams = budgets_for(
            providers, self.settings, learned=self._rates.load(), clock=self._clock,
            sleep=sleep, make_budget=self.fleet.budget_maker() if self.fleet else None)
        self._guarded = [
            GuardedProvider(p, self.settings.policy_for(p.name), clock=self._clock, sleep=sleep,
                            rng=rng, stats=self.stats, slots=self._slots,
                            upstream=self.upstreams.get(upstream_of(p) or ""),
                            gated=callable(getattr(p, "bind_gate", None)),
                            breaker=(self.fleet.breaker(str(p.name),
                                                        self.settings.policy_for(p.name),
                                                        clock=self._clock)
                                     if self.fleet is not None else None))
            for p in providers
        ]
        self._cascade = Cascade(self._guarded, cache, self.settings, clock=self._clock,
                                stats=self.stats)
        # Writes the statistics to the store (settings.stats) and watches the alert thresholds.
        # It holds no reference to the façade, so a façade dropped without close() is still
        # collected, and then its run is flushed and ended. Not by the finalizer itself: that
        # runs inside a garbage-collection pass, on a thread that may hold the very lock a
        # close would take; close_soon() only hands the close to the recorder's own thread.
        self._recorder = RunRecorder(self.stats, self.settings, clock=self._clock,
                                     breakers={g.name: g.breaker for g in self._guarded},
                                     upstreams=self.upstreams)
        weakref.finalize(self, self._recorder.close_soon)
        self._coalescer = Coalescer()
        self._engine = Engine(self._cascade, self._coalescer, self.settings, stats=self.stats,
                              not_found=open_not_found(cache, self.settings.cache,
                                                       clock=self._clock),
                              fleet_walk=self.fleet.walk() if self.fleet is not None else None)
        # The async twins' threads (built on first use): daemon threads, see facade_async.
        self._executor: DaemonThreadPool | None = None
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_config(cls, path: str | PathLike[str], **kwargs: Any) -> Self:
        """A façade configured by the YAML file at ``path`` (plus env overrides)."""
        return cls(settings=Settings.from_yaml(path), **kwargs)

    @property
    def providers(self) -> tuple[Provider, ...]:
        """The provider chain, primary first."""
        return tuple(g.provider for g in self._guarded)

    # --- sync API ----------------------------------------------------------------------------

    def fetch(self, symbol: str, *, refresh: bool = False) -> FetchResult:
        """The full tagged answer for ``symbol``: data or error, source, age, latency, trace.

        A symbol a provider confirmed unknown less than ``cache.not_found_for`` ago is answered
        ``symbol_not_found`` at once, without a provider call (the negative cache).
        ``refresh=True`` asks the providers anyway: it skips the negative cache and the
        read-through (``cache.read_through``); the cache still serves when every provider fails,
        and an upstream cooling down after a 429 is still not asked.

        Raises :class:`~resilient_provider.errors.InvalidSymbolError` (a ``ValueError``) for
        input that is not a ticker symbol, before any I/O; never for provider failures.
        """
        normalized = normalize_symbol(symbol)
        self._check_open()
        result = self._engine.fetch([normalized], refresh=refresh)[normalized]
        return result if result.ticker == symbol else result.with_ticker(symbol)

    def get_ticker_info(self, symbol: str, *, refresh: bool = False) -> dict[str, Any]:
        """The info dict for ``symbol`` with ``_data_source``, ``_provider``, ``_is_stale``,
        ``_fetched_at``, ``_age_s`` and ``_latency_ms`` tags — or, when every source failed,
        ``{"symbol", "ticker", "error", "_error_code", "_data_source": "error"}``. ``refresh``:
        as for :meth:`fetch`."""
        return self.fetch(symbol, refresh=refresh).to_tagged_dict()

    def batch_fetch(self, symbols: Iterable[str], *, progress: bool | None = None,
                    refresh: bool = False) -> dict[str, FetchResult]:
        """:meth:`fetch` for many symbols at once: ``{symbol as given: FetchResult}``, in input
        order.

        Duplicates and case variants are fetched once (each keeps its own key). Items that are
        not ticker symbols get an ``invalid_symbol`` error result, found without any I/O; one
        bad symbol never fails the batch. The distinct symbols are cut into chunks of up to
        ``batch_size`` that walk the fallback chain on their own, two per call slot
        (``max_concurrent_requests``) at a time: within a chunk, the primary gets every symbol
        in one call, the next provider only those it failed, and the cache (one ``get_many``)
        only those still missing.

        Args:
            symbols: ticker symbols (a list, tuple, pandas Series, …; not one string).
            progress: show a progress bar on stderr: None (default) for batches of 20 or more
                symbols when stderr is a terminal, True always, False never.
            refresh: ask the providers even for known unknowns and fresh entries (see
                :meth:`fetch`).

        Raises:
            InvalidSymbolError: ``symbols`` is a single string.
            TypeError: ``symbols`` is not iterable, or holds an unhashable item.
            BatchInterrupted: Ctrl-C (a KeyboardInterrupt) mid-batch, raised at once with
                ``.results``, the answers so far in input order, and ``.missing``
                (:class:`~resilient_provider.strategy.batch.BatchInterrupted`).
        """
        plan = plan_batch(symbols)
        self._check_open()
        return self._batch(plan, progress, refresh)

    @overload
    def batch_get_ticker_info(self, symbols: Iterable[str], *, as_frame: Literal[False] = False,
                              progress: bool | None = None,
                              refresh: bool = False) -> dict[str, dict[str, Any]]: ...

    @overload
    def batch_get_ticker_info(self, symbols: Iterable[str], *, as_frame: Literal[True],
                              progress: bool | None = None,
                              refresh: bool = False) -> pd.DataFrame: ...

    @overload
    def batch_get_ticker_info(self, symbols: Iterable[str], *, as_frame: bool,
                              progress: bool | None = None, refresh: bool = False,
                              ) -> dict[str, dict[str, Any]] | pd.DataFrame: ...

    def batch_get_ticker_info(self, symbols: Iterable[str], *, as_frame: bool = False,
                              progress: bool | None = None, refresh: bool = False,
                              ) -> dict[str, dict[str, Any]] | pd.DataFrame:
        """:meth:`get_ticker_info` for many symbols: ``{symbol as given: tagged dict}`` in input
        order, or with ``as_frame=True`` a pandas DataFrame in the fixed schema of
        :mod:`~resilient_provider.frame_schema`: indexed by ``ticker`` (each item as given), a
        ``symbol`` column (normalised), the core fields with fitting dtypes, every other field
        an answer had, then the tag columns (:data:`~resilient_provider.result.TAG_COLUMNS`).
        See :meth:`batch_fetch` for the rest."""
        plan = plan_batch(symbols)
        self._check_open()
        return self._batch_info(plan, as_frame, progress, refresh)

    def _batch_info(self, plan: BatchPlan, as_frame: bool, progress: bool | None,
                    refresh: bool) -> dict[str, dict[str, Any]] | pd.DataFrame:
        results = self._batch(plan, progress, refresh)
        if as_frame:
            from .frames import results_frame  # imported here: pandas is slow to import

            return results_frame(results)
        return {key: result.to_tagged_dict() for key, result in results.items()}

    def _batch(self, plan: BatchPlan, progress: bool | None,
               refresh: bool) -> dict[str, FetchResult]:
        with progress_bar(len(plan.symbols), progress) as bar:
            return self._engine.batch(plan, bar, refresh=refresh)

    # --- statistics --------------------------------------------------------------------------

    def get_reliability_stats(self) -> dict[str, Any]:
        """Source mix (percentages of requests), counts, per-provider health since the last
        :meth:`reset_stats`, and the ``alerts`` whose thresholds (``stats.alerts``) are passed.

        The same figures are written to the statistics store (``stats.path``) every
        ``stats.flush_interval_s`` and on :meth:`close`, for ``resilient-provider stats``.
        """
        return self._recorder.report().to_dict()

    def reliability_report(self) -> ReliabilityReport:
        """The same as :meth:`get_reliability_stats`, typed: a frozen
        :class:`~resilient_provider.stats.report.ReliabilityReport` (``to_dict()`` is the dict)."""
        return self._recorder.report()

    def stats_frame(self) -> Any:
        """:meth:`get_reliability_stats` per provider as a pandas DataFrame (one row each;
        see :func:`~resilient_provider.stats.export.stats_frame` for the columns)."""
        from .stats.export import stats_frame  # imported here: pandas is slow to import

        return stats_frame(self.reliability_report())

    def prometheus_registry(self) -> Any:
        """A ``prometheus_client`` registry whose collector reads this façade's live statistics
        on every scrape (serve it with ``prometheus_client.start_http_server(port,
        registry=...)`` or :func:`~resilient_provider.stats.export.serve_prometheus`)."""
        from .stats.export import prometheus_registry

        return prometheus_registry(self.reliability_report)

    def reset_stats(self) -> None:
        """End this run in the statistics store, zero the statistics and start a new run id
        (breakers keep their state)."""
        self._recorder.rollover()

    @property
    def run_id(self) -> str:
        """The id of the current run: in the statistics store and on every log line."""
        return self.stats.run_id

    # --- lifecycle ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this ResilientProvider is closed")

    def close(self) -> None:
        """Close what the façade built; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        self._recorder.close()
        remembered = {name: budget.rate_per_s for name, budget in self.upstreams.items()
                      if budget.settings.remember_rate}
        if remembered:
            self._rates.save(remembered)
        for guarded in self._guarded:
            guarded.close()
            unbind = getattr(guarded.provider, "bind_gate", None)
            if callable(unbind) and guarded.provider not in self._owned:
                unbind(None)  # a provider given to us must not keep pacing by a closed façade
        for part in self._owned:
            try:
                part.close()
            except Exception as exc:  # noqa: BLE001 - closing one part must not stop the rest
                log.warning("closing %r failed: %s: %s", part, type(exc).__name__, exc)
        if self.fleet is not None:
            self.fleet.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        chain = " → ".join(g.name for g in self._guarded) or "no providers"
        return f"ResilientProvider({chain}; cache={self.cache!r})"
