"""Fleet-wide single-flight: a symbol being fetched by one worker is waited for by the others.

Within one process the :class:`~resilient_provider.strategy.coalesce.Coalescer` shares walks;
across workers, a walk first *claims* each symbol with a lease, ``SET lease:SYM token NX PX``.
The symbols it claims it walks (the providers, whose answer the shared cache then holds); the
ones another worker holds it waits for, polling their leases, and serves from the cache once a
lease is gone. A symbol whose lease ended without a fresh entry (the leader failed on it, or
died), or still held when the wait is up, is walked by the waiter itself, so a stuck or dead
leader costs time, never an answer.

A walk that is over leaves a *done-mark* in its leases for ``lease_s``: a worker that asks
for the symbol meanwhile (a batch that reached it a moment later) is sent to the cache too, so
overlapping portfolios fetched at about the same time cost one fetch per symbol, not one per
worker; a symbol the leader found no data for is then walked by the one asking.

Leases are renewed every third of ``lease_s`` while their walk runs (one renewer thread per
worker; a renewal or a release only touches a lease that still carries this worker's token,
checked in a script), so a live leader keeps its claim through retries and backoffs and a
dead one's expires within ``lease_s``. While Redis is down nothing is claimed: every worker
walks what it is asked, as without fleet mode.

Why polling and not pub/sub: a subscription per waiting walk holds a connection each, and a
message sent while a waiter was subscribing is lost; a poll every :data:`POLL_S` of one MGET
for all the symbols a walk waits for is cheap and cannot miss the end of a lease.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..logs import get_logger
from .link import RedisDown, RedisLink

log = get_logger(__name__)

#: Seconds between two looks at the leases a walk waits for.
POLL_S = 0.05

#: Rounds of waiting and claiming again a walk makes for symbols others hold.
_ROUNDS = 3

#: Extend a lease only if it is still ours: KEYS[1] the lease, ARGV[1] our token, ARGV[2] ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

#: The value a lease takes once its walk is over: "fetched just now, read the cache".
DONE = b"done"

#: End a lease only if it is still ours (KEYS[1] the lease, ARGV[1] our token): it becomes a
#: done-mark for ARGV[2] ms.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
end
return 0
"""


class FleetSingleFlight:
    """Leases on symbols, shared by every worker on ``link`` (see the module docstring).

    Args:
        link: the worker's Redis link.
        lease_s: how long a claim lasts unless renewed.
        sleep: how a waiter waits between polls (real time: leases expire on Redis's clock).
    """

    def __init__(self, link: RedisLink, *, lease_s: float,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._link = link
        self.lease_s = lease_s
        self._lease_ms = max(1, round(lease_s * 1000))
        self._sleep = sleep
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._lock = threading.Lock()
        self._held: Counter[str] = Counter()  # lease key -> walks of this worker holding it
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()
        self.waited = 0  # symbols answered from another worker's fetch
        self.taken_over = 0  # symbols a waiter walked itself after all

    # --- what a walk does ----------------------------------------------------------------------

    def claim(self, symbols: Sequence[str]) -> tuple[list[str], list[str]]:
        """Claim ``symbols``: (those this worker now holds, those another worker holds).
        :class:`RedisDown` when Redis cannot say (then the caller walks them all)."""
        keys = [self._key(s) for s in symbols]

        def set_all(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            for key in keys:
                pipe.set(key, self._token, nx=True, px=self._lease_ms)
            return list(pipe.execute())

        got = self._link.run("claim leases", set_all)
        mine = [s for s, ok in zip(symbols, got, strict=True) if ok]
        theirs = [s for s, ok in zip(symbols, got, strict=True) if not ok]
        if mine:
            self._hold([self._key(s) for s in mine])
        return mine, theirs

    def release(self, symbols: Sequence[str]) -> None:
        """End this worker's claims on ``symbols`` (its walk is over, the cache written): each
        becomes a done-mark for ``lease_s``."""
        keys = [self._key(s) for s in symbols]
        if not keys:
            return
        self._unhold(keys)

        def delete_ours(r: Any) -> None:
            script = r.register_script(_RELEASE)
            pipe = r.pipeline(transaction=False)
            for key in keys:
                script(keys=[key], args=[self._token, self._lease_ms], client=pipe)
            pipe.execute()

        with contextlib.suppress(RedisDown):  # they expire within lease_s
            self._link.run("release leases", delete_ours)

    def wait(self, symbols: Sequence[str], wait_s: float) -> list[str]:
        """Wait up to ``wait_s`` (real time) for other workers' leases on ``symbols`` to end;
        the symbols whose lease ended, in order (all of them, if Redis goes down: the caller
        then finds out from the cache or walks them)."""
        keys = {self._key(s): s for s in symbols}
        pending = dict(keys)
        give_up_at = time.monotonic() + wait_s
        while pending:
            try:
                values = self._link.run("poll leases", lambda r: r.mget(list(pending)))
            except RedisDown:
                pending.clear()
                break
            for key, value in zip(list(pending), values, strict=True):
                if value is None or value == DONE:
                    del pending[key]
            if not pending or time.monotonic() + POLL_S > give_up_at:
                break
            self._sleep(POLL_S)
        held = set(pending.values())
        return [s for s in symbols if s not in held]

    def close(self) -> None:
        """Stop the renewer; the leases still held expire within ``lease_s``."""
        self._stop.set()

    # --- leases held ---------------------------------------------------------------------------

    def _key(self, symbol: str) -> str:
        return self._link.key("lease", symbol)

    def _hold(self, keys: Sequence[str]) -> None:
        with self._lock:
            self._held.update(keys)
            if self._renewer is None or not self._renewer.is_alive():
                self._renewer = threading.Thread(target=self._renew_until_stopped,
                                                 name="rp-leases", daemon=True)
                self._renewer.start()

    def _unhold(self, keys: Sequence[str]) -> None:
        with self._lock:
            self._held.subtract(keys)
            for key in keys:
                if self._held[key] <= 0:
                    del self._held[key]

    def _renew_until_stopped(self) -> None:
        every_s = self._lease_ms / 3000.0
        while not self._stop.wait(every_s):
            with self._lock:
                keys = list(self._held)
            if not keys:
                continue

            def extend(r: Any, keys: list[str] = keys) -> None:
                script = r.register_script(_RENEW)
                pipe = r.pipeline(transaction=False)
                for key in keys:
                    script(keys=[key], args=[self._token, self._lease_ms], client=pipe)
                pipe.execute()

            try:
                self._link.run("renew leases", extend)
            except RedisDown:
                continue
            except Exception as exc:  # noqa: BLE001 - the renewer must outlive one bad round
                log.warning("renewing leases failed: %s: %s", type(exc).__name__, exc)


Walk = Callable[..., Mapping[str, Any]]
Serve = Callable[..., Mapping[str, Any]]


def walk_once_per_fleet(walk: Walk, serve_fresh: Serve, flight: FleetSingleFlight, *,
                        wait_s: float) -> Walk:
    """``walk`` (the cascade's), claiming each symbol fleet-wide first: the symbols another
    worker is fetching are waited for up to ``wait_s`` and served fresh from the (shared)
    cache by ``serve_fresh``; those it did not answer are walked here after all.

    ``asked_at`` (the clock's time the request was asked) bounds what the cache may answer:
    entries fetched from ``lease_s`` before it on (the done-mark's "just now"), so a refresh
    request is not served an older entry. A symbol claimed is first looked up once more: a
    batch's chunk may claim it seconds after the batch read the cache, when another worker
    has fetched it and its done-mark is gone (without the second look, a worker killed holding
    leases made the survivors' queued chunks fetch 1.44 times per symbol).
    """

    def fleet_walk(symbols: Sequence[str], *, asked_at: float | None = None,
                   **options: Any) -> dict[str, Any]:
        try:
            mine, theirs = flight.claim(symbols)
        except RedisDown:
            return dict(walk(symbols, **options))
        record = options.get("record", True)
        since = asked_at - flight.lease_s if asked_at is not None else None

        def served_from_cache(ended: Sequence[str]) -> dict[str, Any]:
            served = serve_fresh(ended, record=record, fetched_since=since) if ended else {}
            flight.waited += len(served)
            return dict(served)

        results: dict[str, Any] = {}
        try:
            results.update(served_from_cache(mine))
            if todo := [s for s in mine if s not in results]:
                results.update(walk(todo, **options))
        finally:
            flight.release(mine)
        pending, rounds = list(theirs), 0
        while pending:
            rounds += 1
            ended = flight.wait(pending, wait_s)
            served = served_from_cache(ended)
            results.update(served)
            unserved = [s for s in ended if s not in served]
            held = [s for s in pending if s not in ended]  # past the wait: walked here
            # A lease that ended without data (a dead or failing leader) is claimed again,
            # so that one waiter takes over, not all of them (8 fetches of one symbol when
            # a worker of 8 was killed holding leases).
            try:
                again, pending = flight.claim(unserved) if rounds < _ROUNDS else (unserved, [])
            except RedisDown:
                again, pending = unserved, []
            mine_now = again + held
            if mine_now:
                flight.taken_over += len(mine_now)
                try:
                    results.update(walk(mine_now, **options))
                finally:
                    flight.release(again)
        return {symbol: results[symbol] for symbol in symbols}

    return fleet_walk
