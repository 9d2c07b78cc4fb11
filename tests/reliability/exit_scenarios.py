"""Child processes for tests/reliability/test_exit.py: ways a script ends with façades left open.

Run as ``python -m tests.reliability.exit_scenarios MODE SCENARIO DIR [BASE_URL]``:

* MODE ``plain`` runs SCENARIO in this process; ``fork`` and ``spawn`` run it in a
  ``multiprocessing`` child started that way, and this process (which keeps a façade of its own
  open across the fork) waits for it and records how long its exit took.
* Each scenario writes ``DIR/scenario-<pid>.json`` just before it returns: the run ids of its
  façades and ``exiting_at`` (``time.monotonic()``, the same clock in every process on Linux).
* The cache and the statistics store are the defaults under ``XDG_CACHE_HOME``, which the test
  points at a temporary directory; BASE_URL is the fake Yahoo the real adapters talk to.

Every façade here is dropped without ``close()``, in a reference cycle, and most with calls in
flight: the interpreter must still exit at once and every run must be on record as ended.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from resilient_provider import ResilientProvider, Settings
from resilient_provider.stats import open_runs
from resilient_provider.stats.store import StatsStore
from resilient_provider.testing import Hang, ScriptedProvider

#: Symbols the fake Yahoo of the test never answers (it hangs their quoteSummary).
HUNG_SYMBOLS = ("HANGA", "HANGB", "HANGC", "HANGD", "HANGE", "HANGF")


def _settings(base_url: str | None, **extra: Any) -> Settings:
    providers = ([{"name": name, "options": {"base_url": base_url}}
                  for name in ("yfinance", "yahooquery")] if base_url else [])
    return Settings(**({"providers": providers} if providers else {}), **extra)


def _in_a_cycle(facade: ResilientProvider) -> None:
    facade.cycle = facade  # type: ignore[attr-defined]  # garbage only a GC pass can collect


def _write(directory: Path, run_ids: list[str], **extra: Any) -> None:
    path = directory / f"scenario-{multiprocessing.current_process().pid}.json"
    path.write_text(json.dumps({"run_ids": run_ids, "exiting_at": time.monotonic(), **extra}))


# --- defect 1: a finalizer run by a GC pass that interrupted lock-holding code ----------------


def gc_while_registry_locked(directory: Path, base_url: str | None) -> None:
    """A GC pass collects a dropped façade while this thread holds the open-recorders lock."""
    gc.disable()  # only the pass below may collect the façade
    facade = ResilientProvider([ScriptedProvider("scripted")], settings=_settings(None))
    run_ids = [facade.run_id]
    _in_a_cycle(facade)
    del facade
    with open_runs._OPEN_LOCK:
        gc.collect()
    gc.enable()
    _write(directory, run_ids)


def gc_during_a_flush(directory: Path, base_url: str | None) -> None:
    """A GC pass inside a flush (recorder lock held) collects that recorder's own façade."""
    gc.disable()
    facade = ResilientProvider([ScriptedProvider("scripted")], settings=_settings(None))
    facade.get_ticker_info("AAPL")
    run_ids = [facade.run_id]
    recorder = facade._recorder
    store = recorder.store
    assert store is not None
    write = store.write

    def write_after_a_gc_pass(*args: Any) -> None:
        gc.collect()  # as an allocation inside the flush would trigger it
        write(*args)

    store.write = write_after_a_gc_pass  # type: ignore[method-assign,assignment]
    _in_a_cycle(facade)
    del facade
    recorder.flush()
    gc.enable()
    _write(directory, run_ids, flushed=True)


# --- defect 2 and the exit matrix: calls in flight at exit -------------------------------------


def afetch_in_flight(directory: Path, base_url: str | None) -> None:
    """Hanging afetch calls, more than the façade has threads (the rest queued behind them),
    abandoned when ``asyncio.run`` ends."""
    provider = ScriptedProvider("scripted", default=Hang())
    facade = ResilientProvider([provider], settings=_settings(None, max_concurrent_requests=2))
    run_ids = [facade.run_id]
    _in_a_cycle(facade)

    async def main() -> None:
        tasks = [asyncio.ensure_future(facade.afetch(s)) for s in ("AAA", "BBB", "CCC", "DDD")]
        await asyncio.sleep(0.3)  # the first two are in the provider, the others queued
        assert not any(task.done() for task in tasks)

    asyncio.run(main())  # the façade is dropped with this frame
    _write(directory, run_ids)


def everything(directory: Path, base_url: str | None) -> None:
    """Façades over the real adapters (the fake Yahoo hangs their data requests) and over a
    hanging scripted provider, never closed, in cycles, with single, batch and async calls in
    flight, on the default cache and statistics store."""
    assert base_url is not None
    scripted = ResilientProvider([ScriptedProvider("scripted", default=Hang())],
                                 settings=_settings(None, max_concurrent_requests=2))
    real = ResilientProvider(settings=_settings(base_url, max_concurrent_requests=2))
    idle = ResilientProvider(settings=_settings(base_url))  # never used: nothing in flight
    facades = [scripted, real, idle]
    run_ids = [f.run_id for f in facades]
    for facade in facades:
        _in_a_cycle(facade)

    async def main() -> None:
        calls: list[Coroutine[Any, Any, Any]] = [scripted.afetch(s) for s in ("AAA", "BBB")]
        calls += [real.afetch(HUNG_SYMBOLS[0]),
                  real.abatch_fetch(list(HUNG_SYMBOLS[1:])),
                  real.afetch(HUNG_SYMBOLS[1])]  # queued behind the two before it
        tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(c) for c in calls]
        await asyncio.sleep(0.5)
        assert not any(task.done() for task in tasks)

    asyncio.run(main())  # the façades are dropped with this frame
    _write(directory, run_ids)


SCENARIOS: dict[str, Callable[[Path, str | None], None]] = {
    "gc_while_registry_locked": gc_while_registry_locked,
    "gc_during_a_flush": gc_during_a_flush,
    "afetch_in_flight": afetch_in_flight,
    "everything": everything,
}


def run(name: str, directory: str, base_url: str | None) -> None:
    """Run scenario ``name`` (the target of a multiprocessing child too)."""
    SCENARIOS[name](Path(directory), base_url)


def run_in_child(method: str, name: str, directory: Path, base_url: str | None) -> None:
    """Run the scenario in a ``multiprocessing`` child started by ``method``; write
    ``DIR/parent.json``: the child's exit code, how long it took to exit, and this process's
    own run, which the child must not end."""
    parent = ResilientProvider([ScriptedProvider("scripted")], settings=_settings(None))
    parent.get_ticker_info("AAPL")  # a run of the parent's, open across the fork
    child = multiprocessing.get_context(method).Process(  # type: ignore[attr-defined]
        target=run, args=(name, str(directory), base_url))
    child.start()
    child.join(timeout=60)
    ended = time.monotonic()
    if child.is_alive():
        child.kill()
        child.join()
    store = StatsStore(parent.settings.stats_path(), create=False)
    parent_ended_by_child = store.report([parent.run_id]).to_dict()["ended_at"] is not None
    store.close()
    written = list(directory.glob(f"scenario-{child.pid}.json"))
    exiting_at = json.loads(written[0].read_text())["exiting_at"] if written else None
    (directory / "parent.json").write_text(json.dumps({
        "exitcode": child.exitcode, "child_pid": child.pid, "parent_run_id": parent.run_id,
        "parent_ended_by_child": parent_ended_by_child,
        "exit_s": None if exiting_at is None else ended - exiting_at}))
    _in_a_cycle(parent)  # left open: this process's exit ends its run


if __name__ == "__main__":
    mode, scenario, where = sys.argv[1:4]
    url = sys.argv[4] if len(sys.argv) > 4 else None
    if mode == "plain":
        run(scenario, where, url)
    else:
        run_in_child(mode, scenario, Path(where), url)
