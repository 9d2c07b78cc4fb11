"""Group commit: a thread that finds the cache's write lock taken leaves its rows with the
holder and returns; nothing is lost to a busy database; pending rows are bounded."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import pytest

from resilient_provider.cache import group_commit
from resilient_provider.cache.group_commit import GroupCommit, Row


class BusyError(Exception):
    """Stands for diskcache.Timeout: the database was locked."""


class Store:
    """A commit function that records batches and can be made to block or fail."""

    def __init__(self) -> None:
        self.batches: list[dict[str, Row]] = []
        self.entered = threading.Event()
        self.go_on = threading.Event()
        self.go_on.set()
        self.fail_with: Exception | None = None

    def commit(self, rows: Mapping[str, Row]) -> None:
        self.entered.set()
        assert self.go_on.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        self.batches.append(dict(rows))

    @property
    def written(self) -> dict[str, Row]:
        merged: dict[str, Row] = {}
        for batch in self.batches:
            merged.update(batch)
        return merged


def row(n: int) -> Row:
    return (f"v{n}".encode(), None)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def group(store: Store) -> GroupCommit:
    return GroupCommit(threading.RLock(), store.commit, busy=(BusyError,))


def test_an_uncontended_submit_writes_its_rows_at_once(group: GroupCommit, store: Store) -> None:
    group.submit({"a": row(1), "b": row(2)})
    assert store.batches == [{"a": row(1), "b": row(2)}] and group.waiting == 0


def test_a_submit_behind_a_writer_returns_and_the_writer_writes_its_rows(
        group: GroupCommit, store: Store) -> None:
    store.go_on.clear()
    first = threading.Thread(target=group.submit, args=({"a": row(1)},))
    first.start()
    assert store.entered.wait(10)  # the first thread is in its commit, holding the lock
    group.submit({"b": row(2), "c": row(3)})  # returns without waiting
    assert group.pending_many(["b", "c", "x"]) == {"b": row(2), "c": row(3)}
    store.go_on.set()
    first.join(10)
    assert store.batches == [{"a": row(1)}, {"b": row(2), "c": row(3)}]
    assert group.waiting == 0


def test_rows_of_a_busy_database_stay_pending_and_go_with_the_next_write(
        group: GroupCommit, store: Store) -> None:
    store.fail_with = BusyError("locked")
    group.submit({"a": row(1)})  # no error: only a busy database
    assert group.pending_many(["a"]) == {"a": row(1)}
    store.fail_with = None
    group.submit({"b": row(2)})
    assert store.written == {"a": row(1), "b": row(2)} and group.waiting == 0


def test_another_failure_is_raised_to_its_submitter_and_the_rows_are_kept(
        group: GroupCommit, store: Store) -> None:
    store.fail_with = OSError(28, "No space left on device")
    with pytest.raises(OSError):
        group.submit({"a": row(1)})
    assert group.waiting == 1
    store.fail_with = None
    assert group.write_pending() is None and store.written == {"a": row(1)}


def test_a_newer_row_submitted_during_a_failed_write_wins(group: GroupCommit,
                                                          store: Store) -> None:
    store.go_on.clear()
    store.fail_with = BusyError("locked")
    first = threading.Thread(target=group.submit, args=({"a": row(1)},))
    first.start()
    assert store.entered.wait(10)
    group.submit({"a": row(2)})
    store.go_on.set()
    first.join(10)
    store.fail_with = None
    group.write_pending()
    assert store.written == {"a": row(2)}


def test_rows_left_with_a_block_holding_the_lock_are_written_when_it_ends(
        group: GroupCommit, store: Store) -> None:
    lock = group._lock
    with lock, group.holding():
        done = threading.Thread(target=group.submit, args=({"a": row(1)},))
        done.start()
        done.join(10)
        assert store.batches == [] and group.waiting == 1
    assert store.batches == [{"a": row(1)}]


def test_discarded_rows_are_never_written(group: GroupCommit, store: Store) -> None:
    store.fail_with = BusyError("locked")
    group.submit({"a": row(1), "b": row(2)})
    group.discard(["a"])
    store.fail_with = None
    group.write_pending()
    assert store.written == {"b": row(2)}


def test_pending_rows_are_bounded_dropping_the_oldest(group: GroupCommit, store: Store,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(group_commit, "MAX_PENDING_ROWS", 3)
    store.fail_with = BusyError("locked")
    for n in range(5):
        group.submit({f"k{n}": row(n)})
    assert list(group.pending_many([f"k{n}" for n in range(5)])) == ["k2", "k3", "k4"]
    assert any("dropped" in r.getMessage() for r in caplog.records)


def test_past_the_backlog_a_writer_waits_its_turn_instead_of_piling_rows_up(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it a 5,000-symbol batch's 32 threads left 3,288 rows (30 MiB) pending.
    monkeypatch.setattr(group_commit, "BACKLOG_ROWS", 2)
    group = GroupCommit(threading.RLock(), store.commit, busy=(BusyError,), backlog_wait_s=5.0)
    store.go_on.clear()
    first = threading.Thread(target=group.submit, args=({"a": row(1)},))
    first.start()
    assert store.entered.wait(10)
    group.submit({"b": row(2), "c": row(3)})  # within the backlog: returns at once
    third = threading.Thread(target=group.submit, args=({"d": row(4)},))
    third.start()
    third.join(0.2)
    assert third.is_alive()  # past the backlog: it waits for the lock
    store.go_on.set()
    first.join(10)
    third.join(10)
    assert store.written.keys() == {"a", "b", "c", "d"} and group.waiting == 0
