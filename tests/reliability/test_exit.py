"""Issue 15, item 8 (Exit): façades never closed, in cycles, with calls in flight, with the
default statistics store, in a plain process and under ``multiprocessing`` fork and spawn: the
interpreter exits within 2 s every time and each run is recorded as ended.

Each scenario runs in a child process (:mod:`tests.reliability.exit_scenarios`) under a
timeout, so a hang fails the test instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resilient_provider import Settings
from resilient_provider.stats.store import StatsStore
from resilient_provider.testing import FakeYahooServer, Fault

from .exit_scenarios import HUNG_SYMBOLS
from .scale import report, scale

ROOT = Path(__file__).resolve().parents[2]

#: How long an interpreter may take to exit once its script is done (issue 15, item 8).
EXIT_WITHIN_S = 2.0
#: How long a child may run at all before it counts as hung (scenarios take about a second).
CHILD_TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def hanging_yahoo() -> Iterator[FakeYahooServer]:
    """A fake Yahoo that answers the handshake but never the data requests for HUNG_SYMBOLS
    (for longer than any child lives: the old exit waited for them)."""
    with FakeYahooServer(hang_limit_s=60) as yahoo:
        yahoo.inject(Fault.hang(), route=("quoteSummary", "quote"), symbols=HUNG_SYMBOLS)
        yield yahoo


def run_child(mode: str, scenario: str, tmp_path: Path,
              base_url: str | None = None) -> tuple[float, dict[str, Any]]:
    """Run one scenario; (seconds its interpreter took to exit, what it wrote)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    env.pop("PYTEST_CURRENT_TEST", None)
    args = [sys.executable, "-m", "tests.reliability.exit_scenarios", mode, scenario,
            str(tmp_path)] + ([base_url] if base_url else [])
    log_path = tmp_path / f"{mode}-{scenario}.log"
    with log_path.open("w") as log:
        # Its own process group, so that on a timeout a grandchild (fork, spawn) dies with it;
        # output to a file, which a surviving grandchild cannot hold open as it would a pipe.
        child = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        try:
            child.wait(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            pytest.fail(f"{mode} {scenario}: the process had not exited after "
                        f"{CHILD_TIMEOUT_S} s")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)  # nothing of it outlives the test
    ended = time.monotonic()
    stderr = log_path.read_text()
    assert child.returncode == 0, stderr
    if mode == "plain":
        (written,) = tmp_path.glob("scenario-*.json")
        outcome = json.loads(written.read_text())
        return ended - outcome["exiting_at"], outcome
    parent = json.loads((tmp_path / "parent.json").read_text())
    assert parent["exitcode"] == 0, stderr
    assert parent["exit_s"] is not None, f"the {mode} child never finished its script: {stderr}"
    outcome = json.loads((tmp_path / f"scenario-{parent['child_pid']}.json").read_text())
    assert parent["parent_ended_by_child"] is False  # the parent's run is the parent's to end
    return parent["exit_s"], {**outcome, "parent_run_id": parent["parent_run_id"]}


def ended_runs(tmp_path: Path) -> dict[str, bool]:
    """Run id -> whether it is recorded as ended, in the default store of ``tmp_path``."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        path = Settings().stats_path()
    store = StatsStore(path, create=False)
    try:
        return {run_id: store.report([run_id]).to_dict()["ended_at"] is not None
                for run_id in store.run_ids()}
    finally:
        store.close()


# --- defect 1: the finalizer of a façade collected inside lock-holding code --------------------


@pytest.mark.parametrize("scenario", ["gc_while_registry_locked", "gc_during_a_flush"])
def test_a_facade_collected_while_a_recorder_lock_is_held_does_not_hang(
        scenario: str, tmp_path: Path) -> None:
    # The finalizer used to close the recorder on the spot, waiting for a lock the very thread
    # it interrupted held: the process never got past the GC pass (or its exit).
    exit_s, outcome = run_child("plain", scenario, tmp_path)
    assert exit_s < EXIT_WITHIN_S
    assert ended_runs(tmp_path) == dict.fromkeys(outcome["run_ids"], True)


# --- defect 2 and item 8 -----------------------------------------------------------------------


def test_exit_does_not_wait_for_afetch_calls_in_flight_or_queued(tmp_path: Path) -> None:
    # The async twins ran on a ThreadPoolExecutor, which exit joins after it ran its queue:
    # four hanging afetch calls on two threads held exit for two whole deadlines.
    exit_s, outcome = run_child("plain", "afetch_in_flight", tmp_path)
    assert exit_s < EXIT_WITHIN_S
    assert ended_runs(tmp_path) == dict.fromkeys(outcome["run_ids"], True)


@pytest.mark.parametrize("mode", ["plain", "fork", "spawn"])
def test_abandoned_facades_let_the_interpreter_exit_and_end_their_runs(
        mode: str, tmp_path: Path, hanging_yahoo: FakeYahooServer) -> None:
    rounds = scale(1, 5)
    exits: list[float] = []
    started = time.monotonic()
    for round_number in range(rounds):
        where = tmp_path / f"round-{round_number}"
        where.mkdir()
        exit_s, outcome = run_child(mode, "everything", where, hanging_yahoo.base_url)
        exits.append(exit_s)
        ended = ended_runs(where)
        assert {run_id: ended.get(run_id) for run_id in outcome["run_ids"]} == dict.fromkeys(
            outcome["run_ids"], True)
        if mode != "plain":  # the parent's own run, open across the fork, ended by its exit
            assert ended[outcome["parent_run_id"]] is True
        assert exit_s < EXIT_WITHIN_S, f"round {round_number}: exit took {exit_s:.2f} s"
    report(f"test_exit[{mode}]", rounds=rounds, facades_per_round=3,
           max_exit_s=round(max(exits), 3), mean_exit_s=round(sum(exits) / len(exits), 3),
           seconds=round(time.monotonic() - started, 1))
