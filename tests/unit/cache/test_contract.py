"""The CacheBackend contract, run against every backend (memory and disk)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from resilient_provider.cache import CacheBackend, CacheEntry


def info(symbol: str, price: float = 101.5) -> dict[str, Any]:
    return {"symbol": symbol, "regularMarketPrice": price, "currency": "USD"}


def test_backend_satisfies_the_protocol(backend: CacheBackend) -> None:
    assert isinstance(backend, CacheBackend)


def test_get_returns_what_set_stored(backend: CacheBackend) -> None:
    backend.set("AAPL", info("AAPL"), fetched_at=1_700_000_000.5, provider="yfinance")
    assert backend.get("AAPL") == CacheEntry(info("AAPL"), 1_700_000_000.5, "yfinance")


def test_get_of_an_unknown_symbol_is_none(backend: CacheBackend) -> None:
    assert backend.get("MSFT") is None


def test_set_replaces_an_earlier_entry(backend: CacheBackend) -> None:
    backend.set("AAPL", info("AAPL", 1.0), fetched_at=100.0, provider="one")
    backend.set("AAPL", info("AAPL", 2.0), fetched_at=200.0, provider="two")
    assert backend.get("AAPL") == CacheEntry(info("AAPL", 2.0), 200.0, "two")


def test_get_many_leaves_out_symbols_without_an_entry(backend: CacheBackend) -> None:
    backend.set("AAPL", info("AAPL"), fetched_at=100.0, provider="one")
    backend.set("MSFT", info("MSFT"), fetched_at=200.0, provider="two")
    assert backend.get_many(["AAPL", "NOPE", "MSFT"]) == {
        "AAPL": CacheEntry(info("AAPL"), 100.0, "one"),
        "MSFT": CacheEntry(info("MSFT"), 200.0, "two"),
    }


def test_set_many_stores_every_entry(backend: CacheBackend) -> None:
    entries = {s: CacheEntry(info(s), 100.0 + i, "one") for i, s in enumerate(["A", "B", "C"])}
    backend.set_many(entries)
    assert backend.get_many(["A", "B", "C"]) == entries


def test_set_many_of_nothing_stores_nothing(backend: CacheBackend) -> None:
    backend.set_many({})
    assert backend.get_many(["A"]) == {}


def test_delete_removes_the_entry_and_says_so(backend: CacheBackend) -> None:
    backend.set("AAPL", info("AAPL"), fetched_at=100.0, provider="one")
    assert backend.delete("AAPL") is True
    assert backend.get("AAPL") is None


def test_delete_of_an_unknown_symbol_returns_false(backend: CacheBackend) -> None:
    assert backend.delete("AAPL") is False


def test_clear_removes_every_entry(backend: CacheBackend) -> None:
    backend.set_many({s: CacheEntry(info(s), 100.0, "one") for s in ["A", "B"]})
    backend.clear()
    assert backend.get_many(["A", "B"]) == {}


def test_prune_removes_entries_fetched_before_the_cutoff(backend: CacheBackend) -> None:
    backend.set_many({"OLD": CacheEntry(info("OLD"), 100.0, "one"),
                      "NEW": CacheEntry(info("NEW"), 200.0, "one")})
    assert backend.prune(older_than=150.0) == 1
    assert set(backend.get_many(["OLD", "NEW"])) == {"NEW"}


def test_prune_keeps_an_entry_fetched_exactly_at_the_cutoff(backend: CacheBackend) -> None:
    backend.set("AAPL", info("AAPL"), fetched_at=150.0, provider="one")
    assert backend.prune(older_than=150.0) == 0
    assert backend.get("AAPL") is not None


def test_backend_does_not_judge_freshness(backend: CacheBackend) -> None:
    # Ten years old, no ttl reached (ttl counts from the write): stale is the caller's call.
    backend.set("AAPL", info("AAPL"), fetched_at=1.0, provider="one")
    assert backend.get("AAPL") == CacheEntry(info("AAPL"), 1.0, "one")


def test_tuples_come_back_as_lists(backend: CacheBackend) -> None:
    backend.set("AAPL", {"range": (1, 2)}, fetched_at=100.0, provider="one")
    entry = backend.get("AAPL")
    assert entry is not None and entry.data == {"range": [1, 2]}


def test_nan_comes_back_as_none(backend: CacheBackend) -> None:
    backend.set("AAPL", {"pe": float("nan")}, fetched_at=100.0, provider="one")
    entry = backend.get("AAPL")
    assert entry is not None and entry.data == {"pe": None}


def test_changing_the_callers_dict_after_set_leaves_the_entry_alone(backend: CacheBackend) -> None:
    data = info("AAPL")
    backend.set("AAPL", data, fetched_at=100.0, provider="one")
    data["regularMarketPrice"] = 0.0
    entry = backend.get("AAPL")
    assert entry is not None and entry.data["regularMarketPrice"] == 101.5


def test_changing_a_returned_entry_leaves_the_stored_one_alone(backend: CacheBackend) -> None:
    backend.set("AAPL", info("AAPL"), fetched_at=100.0, provider="one")
    first = backend.get("AAPL")
    assert first is not None
    first.data["regularMarketPrice"] = 0.0
    again = backend.get("AAPL")
    assert again is not None and again.data["regularMarketPrice"] == 101.5


def test_data_json_cannot_represent_is_refused_with_type_error(backend: CacheBackend) -> None:
    with pytest.raises(TypeError):
        backend.set("AAPL", {"when": object()}, fetched_at=100.0, provider="one")
    assert backend.get("AAPL") is None


def test_sixteen_threads_setting_and_getting_see_their_own_entries(backend: CacheBackend) -> None:
    threads, per_thread = 16, 20
    start = threading.Barrier(threads)

    def work(t: int) -> list[str]:
        start.wait()  # all threads hit the backend together
        wrong = []
        for i in range(per_thread):
            symbol = f"T{t}S{i}"
            backend.set(symbol, info(symbol, float(i)), fetched_at=float(t), provider=f"p{t}")
            if backend.get(symbol) != CacheEntry(info(symbol, float(i)), float(t), f"p{t}"):
                wrong.append(symbol)
        return wrong

    with ThreadPoolExecutor(max_workers=threads) as pool:
        wrong = [s for found in pool.map(work, range(threads)) for s in found]
    every = [f"T{t}S{i}" for t in range(threads) for i in range(per_thread)]
    assert wrong == []
    assert len(backend.get_many(every)) == threads * per_thread
