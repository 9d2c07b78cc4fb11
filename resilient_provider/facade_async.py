"""The façade's async twins: the same implementation as the sync methods, run off the loop.

:class:`AsyncTwins` is a mixin of :class:`~resilient_provider.facade.ResilientProvider`; it
validates input in the caller's frame (so bad input raises where it was written) and runs the
sync method on a thread, with the caller's context variables (run and correlation ids).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, overload

from .config import Settings
from .result import FetchResult
from .strategy.batch import BatchPlan, plan_batch
from .symbols import normalize_symbol
from .threads import DaemonThreadPool

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")


class _Sync(Protocol):
    """What the twins use of the façade."""

    settings: Settings
    _lock: threading.Lock
    _executor: DaemonThreadPool | None

    def fetch(self, symbol: str, *, refresh: bool = False) -> FetchResult: ...
    def _check_open(self) -> None: ...
    def _batch(self, plan: BatchPlan, progress: bool | None,
               refresh: bool) -> dict[str, FetchResult]: ...
    def _batch_info(self, plan: BatchPlan, as_frame: bool, progress: bool | None,
                    refresh: bool) -> dict[str, dict[str, Any]] | pd.DataFrame: ...


class AsyncTwins:
    """``afetch``, ``aget_ticker_info``, ``abatch_fetch`` and ``abatch_get_ticker_info``."""

    async def afetch(self: _Sync, symbol: str, *, refresh: bool = False) -> FetchResult:
        """:meth:`fetch` for ``async`` code; safe to await inside a running event loop."""
        normalize_symbol(symbol)  # bad input raises here, in the caller's frame
        self._check_open()
        return await _off_the_loop(self, partial(self.fetch, symbol, refresh=refresh))

    async def aget_ticker_info(self: _Sync, symbol: str, *,
                               refresh: bool = False) -> dict[str, Any]:
        """:meth:`get_ticker_info` for ``async`` code."""
        return (await AsyncTwins.afetch(self, symbol, refresh=refresh)).to_tagged_dict()

    async def abatch_fetch(self: _Sync, symbols: Iterable[str], *, progress: bool | None = None,
                           refresh: bool = False) -> dict[str, FetchResult]:
        """:meth:`batch_fetch` for ``async`` code (the chunks run on their own threads)."""
        plan = plan_batch(symbols)  # bad input raises here, in the caller's frame
        self._check_open()
        return await _off_the_loop(self, partial(self._batch, plan, progress, refresh))

    @overload
    async def abatch_get_ticker_info(self: _Sync, symbols: Iterable[str], *,
                                     as_frame: Literal[False] = False,
                                     progress: bool | None = None,
                                     refresh: bool = False) -> dict[str, dict[str, Any]]: ...

    @overload
    async def abatch_get_ticker_info(self: _Sync, symbols: Iterable[str], *,
                                     as_frame: Literal[True], progress: bool | None = None,
                                     refresh: bool = False) -> pd.DataFrame: ...

    @overload
    async def abatch_get_ticker_info(self: _Sync, symbols: Iterable[str], *, as_frame: bool,
                                     progress: bool | None = None, refresh: bool = False,
                                     ) -> dict[str, dict[str, Any]] | pd.DataFrame: ...

    async def abatch_get_ticker_info(self: _Sync, symbols: Iterable[str], *,
                                     as_frame: bool = False, progress: bool | None = None,
                                     refresh: bool = False,
                                     ) -> dict[str, dict[str, Any]] | pd.DataFrame:
        """:meth:`batch_get_ticker_info` for ``async`` code."""
        plan = plan_batch(symbols)
        self._check_open()
        return await _off_the_loop(self, partial(self._batch_info, plan, as_frame, progress,
                                                 refresh))


async def _off_the_loop(facade: _Sync, call: Callable[[], T]) -> T:
    """``call()`` on one of the façade's async threads, with the caller's context variables."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(_async_executor(facade), context.run, call)


def _async_executor(facade: _Sync) -> DaemonThreadPool:
    # Daemon threads, not a ThreadPoolExecutor (nor asyncio's default executor, which is one):
    # interpreter exit joins those, after they ran what was queued, so an afetch in flight or
    # queued behind one held exit for its whole deadline although nobody awaits it any more.
    with facade._lock:
        if facade._executor is None:
            facade._executor = DaemonThreadPool(facade.settings.max_concurrent_requests,
                                                name="resilient-provider")
        return facade._executor
