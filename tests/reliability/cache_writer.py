"""A child process that writes to a disk cache and a statistics store until it is killed.

``python -m tests.reliability.cache_writer CACHE_DIR STATS_PATH GENERATION`` prints ``ready``,
then writes round after round: every symbol of :data:`SYMBOLS` (large ones, whose JSON is over
diskcache's 32 KiB value-file threshold, and small ones) with the value ``(GENERATION, round)``
(half in one ``set_many``, half by single ``set``), an old scratch entry then a ``prune`` that
deletes it, and one counter increment in the statistics store; after each round it prints
``round N``. The parent SIGKILLs it at a random point and checks that everything reads back
whole, old or new.
"""

from __future__ import annotations

import hashlib
import sys
import time
from typing import Any

from resilient_provider.cache import CacheEntry, DiskCache
from resilient_provider.stats.store import Flush, RunInfo, StatsStore

BIG = [f"BIG{i}" for i in range(6)]
SMALL = [f"SMALL{i}" for i in range(6)]
SYMBOLS = BIG + SMALL
BIG_PAD = 40_000  # characters: the entry's JSON is over 32 KiB
SCRATCH = "SCRATCH"
COUNTER = ("source", "", "requests", "primary")  # counted as one primary answer


def digest(symbol: str, generation: int, round_: int, pad: str) -> str:
    """What the entry of ``symbol`` written in this round must hash to: a cut or mixed value
    does not match."""
    return hashlib.sha256(f"{symbol}:{generation}:{round_}:{pad}".encode()).hexdigest()


def info(symbol: str, generation: int, round_: int) -> dict[str, Any]:
    """The canonical-looking entry of ``symbol`` for this round (it keeps the data contract)."""
    pad = ("x" if symbol in BIG else "y") * (BIG_PAD if symbol in BIG else 50)
    pad = f"{generation}.{round_}." + pad
    return {"symbol": symbol, "regularMarketPrice": 1.0 + round_, "generation": generation,
            "round": round_, "pad": pad, "digest": digest(symbol, generation, round_, pad)}


def main() -> None:
    cache_dir, stats_path, generation = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cache = DiskCache(cache_dir, ttl_s=None)
    store = StatsStore(stats_path)
    run_id = f"writer-{generation}"
    store.start_run(RunInfo(run_id, 1.0, "crash-test", 0, "here"))
    print("ready", flush=True)
    half = len(SYMBOLS) // 2
    round_ = 0
    while True:
        # Interleaved so set_many and set each replace large and small entries.
        many = SYMBOLS[0::2][:half]
        single = SYMBOLS[1::2]
        cache.set_many({s: CacheEntry(info(s, generation, round_), time.time(), "writer")
                        for s in many})
        for symbol in single:
            cache.set(symbol, info(symbol, generation, round_), fetched_at=time.time(),
                      provider="writer")
        cache.set(SCRATCH, info(SCRATCH, generation, round_), fetched_at=1.0, provider="old")
        cache.prune(older_than=2.0)
        store.write(run_id, Flush(at=float(round_), counters={COUNTER: 1}, breaker_states={}))
        print(f"round {round_}", flush=True)
        round_ += 1


if __name__ == "__main__":
    main()
