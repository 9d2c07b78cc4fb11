"""An upstream budget shared by a fleet: pacing, the in-flight cap and 429 cool-downs in Redis.

Yahoo limits per client IP: eight workers behind one address, each with its own
:class:`~resilient_provider.strategy.upstream.UpstreamBudget`, send eight times the budget and
get the address blocked. :class:`SharedUpstreamBudget` is that budget with its fleet-wide
decisions moved into Lua scripts on Redis (:mod:`.budget_scripts`), decided on the server's
clock so skewed worker clocks do not matter:

* **the pacing slot**: one grant per ``1/rate`` for the whole fleet (zero-burst GCRA: the next
  grant is due ``1/rate`` after the last one), so requests from every worker go out evenly,
  the oldest waiting request first (workers take turns, see :mod:`.budget_scripts`);
* **the in-flight cap**, fleet-wide: tickets in a sorted set scored by when they lapse (the
  request's deadline, at most a minute), so a dead worker's tickets stop counting;
* **the 429 cool-down**: a 429 seen by one worker pauses every worker, for its
  ``Retry-After`` when sent, else ``cooldown_s`` doubled per 429 in a row up to
  ``max_cooldown_s``, as locally;
* **the rate adapts** fleet-wide: a slow start while requests succeed, cut by
  ``decrease_factor`` on a 429 that is news, back to ``safe_share`` of the limit and probing
  above it, between ``min_rate_per_s`` and ``max_rate_per_s`` (the local algorithm without
  its measured limit: the rate that drew the first 429 of a run stands for the limit).

A subclass: the line of waiters, the verdicts (an own block neither cuts nor cools the
fleet), the counters and the snapshot stay the local budget's code; only the slot moves.

Redis is never needed: while it is down (:class:`~.link.RedisDown`) each worker paces itself
locally at its share of the fleet's rate, ``rate / workers``, ``workers`` being
``shared.expected_workers`` or else how many workers asked within the last 10 s (a heartbeat
in every script call; with neither known, the whole rate). A cool-down a worker starts
meanwhile is pushed to the fleet when Redis returns. Keys (one hash tag per upstream and
scope, every one with a TTL) carry the host name when ``budget_scope`` is ``"host"``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..config import UpstreamSettings
from ..errors import ThrottledError, UpstreamCoolingError
from ..logs import get_logger
from ..stats.upstream_report import UpstreamReport
from ..strategy.pacing import AdaptiveRate
from ..strategy.upstream import Ticket, UpstreamBudget
from .budget_scripts import (
    ADMIT,
    COOLING,
    PUSH_COOLING,
    SETTLE,
    AdmitReply,
    SettleReply,
    key_safe,
)
from .link import RedisDown, RedisLink

log = get_logger(__name__)

#: How long an upstream's shared state outlives its last use (and at least its cool-down).
STATE_TTL_S = 600.0

#: A worker that asked within this long counts among those sharing the budget.
WORKER_WINDOW_S = 10.0

#: A ticket lapses at its request's deadline plus this, or this after a minute without one.
_TICKET_SLACK_S, _MAX_TICKET_S = 0.25, 60.0
#: Longest single wait before asking again (a cool-down may be extended, a rate may rise).
_RECHECK_S = 0.25
#: How often to ask again while the fleet's in-flight cap is reached, or the slot due is
#: another request's turn.
_POLL_S = 0.01

#: How long a claim on the next slot outlives its claimant's next ask being due.
_CLAIM_GRACE_S = 0.05



@dataclass(slots=True)
class FleetTicket(Ticket):
    """A request admitted by the fleet: its ticket in Redis and the server time of its grant
    (which tells a 429 that is news from an echo)."""

    ticket_id: str = ""
    granted_us: int = 0


class SharedUpstreamBudget(UpstreamBudget):
    """The request budget of upstream ``name``, shared by every worker (see the module
    docstring); a drop-in for :class:`~resilient_provider.strategy.upstream.UpstreamBudget`.

    Args: as :class:`~resilient_provider.strategy.upstream.UpstreamBudget` (``clock`` then
    serves what stays local: verdicts, the fallback's pacing), plus ``link`` (the worker's
    :class:`~.link.RedisLink`: its settings give the scope and ``expected_workers``) and
    ``host`` (the egress host in the keys under ``budget_scope: host``; default: this machine).
    """

    def __init__(self, name: str, settings: UpstreamSettings, link: RedisLink, *,
                 clock: Callable[[], float], sleep: Callable[[float], None],
                 start_rate_per_s: float | None = None, host: str | None = None) -> None:
        super().__init__(name, settings, clock=clock, sleep=sleep,
                         start_rate_per_s=start_rate_per_s)
        self._link = link
        self._host = key_safe(host or socket.gethostname())
        scope = f"host:{self._host}" if link.settings.budget_scope == "host" else "fleet"
        tag = "{budget:" + key_safe(name) + ":" + scope + "}"  # one Cluster slot per budget
        self.keys = (link.key(tag, "state"), link.key(tag, "tickets"), link.key(tag, "workers"))
        self._nonce = secrets.token_hex(4)
        self._ticket_numbers = itertools.count(1)
        self._start_rate = self._fleet_rate = self._pace.rate
        self._fleet_min = self._fleet_max = self._fleet_rate
        self._alive = 0
        self._share: float | None = None  # the local share the fallback pacing was built for
        self._ttl_ms = round(STATE_TTL_S * 1000)
        self._window_us = round(WORKER_WINDOW_S * 1e6)
        s = settings
        self._adapting = (self._start_rate, s.min_rate_per_s, s.max_rate_per_s,
                          s.decrease_factor, s.increase_factor,
                          round(s.increase_interval_s * 1e6), s.safe_share,
                          s.probe_share_per_s, round(s.cooldown_s * 1e6),
                          round(s.max_cooldown_s * 1e6))
        link.on_return(self._push_cooling)

    @property
    def worker_id(self) -> str:
        """This worker in the heartbeat: host, process (a forked child is another worker) and
        budget."""
        return f"{self._host}:{os.getpid()}:{self._nonce}"

    # --- the gate -----------------------------------------------------------------------------

    def _wait_for_slot(self, provider: str, route: str, probe: bool) -> Ticket:
        """Ask the fleet for a slot until granted, refused by the deadline, or Redis is down
        (then the local budget at this worker's share decides)."""
        waited = 0.0
        ticket_id = f"{self.worker_id}:{next(self._ticket_numbers)}"
        since_us = 0  # when this request first asked, by Redis's clock: its place in line
        while self._link.up:
            left = self._time_left()
            with self._lock:
                now = self._clock()
                if not probe:
                    self._refuse_by_verdict(provider, now)
                cooling = self._cooling_until - now  # our own 429's: no need to ask
            if cooling > 0:
                kind, wait = "cool", cooling
            else:
                try:
                    reply = self._ask_admit(ticket_id, since_us, left, probe)
                except RedisDown:
                    break
                since_us = reply.since_us
                if reply.kind == "ok":
                    with self._lock:
                        taken = self._take(provider, route, self._clock(), waited, probe=probe)
                    return FleetTicket(taken.provider, taken.route, taken.sent_at,
                                       taken.waited_s, taken.probe, ticket_id=ticket_id,
                                       granted_us=reply.granted_us)
                kind, wait = reply.kind, reply.wait_s
            wait = self._wait_within(kind, wait, left, provider)
            if kind == "full":
                with self._lock:
                    self._room.wait(timeout=wait)  # real time: a local answer wakes it
            else:
                self._sleep(wait)
            waited += wait
        with self._lock:
            self._use_local_share()
        return super()._wait_for_slot(provider, route, probe)

    def settle(self, ticket: Ticket, *, status: int | None,
               retry_after_s: float | None = None) -> None:
        """Learn from the answer locally (verdicts, counters) and tell the fleet: a 429 that is
        not one provider's own block cuts the fleet's rate and cools every worker."""
        super().settle(ticket, status=status, retry_after_s=retry_after_s)
        own_block = False
        if status == 429:
            with self._lock:
                own_block = self._verdicts.own_block(ticket.provider, self._clock())
        if not isinstance(ticket, FleetTicket):  # granted locally while Redis was down
            if status == 429 and not own_block:
                self._push_cooling_quietly()
            return
        if status == 429:
            kind = "other" if own_block else "429"  # an own block only frees the ticket
        else:
            kind = "ok" if status is not None and status < 500 else "other"
        retry_us = -1 if retry_after_s is None else \
            round(min(retry_after_s, self.settings.max_retry_after_s) * 1e6)
        args = (ticket.ticket_id, kind, ticket.granted_us, retry_us, self.worker_id,
                self._window_us, self._ttl_ms, *self._adapting)
        try:
            reply = self._link.run("budget settle", lambda r: SettleReply.parse(
                SETTLE(r, self.keys, args)))
        except RedisDown:
            return  # the ticket lapses; our cool-down is pushed when Redis returns
        self._heard(reply.rate_per_s, reply.alive)
        with self._lock:
            self._room.notify()  # the fleet's cap has room now, not when the local one had
        if reply.started_cooldown:
            log.info("%s: HTTP 429 to %s: every worker pauses %.1fs, fleet rate %.2f/s",
                     self.name, ticket.provider, reply.cooling_s, reply.rate_per_s)

    # --- what the strategy asks ---------------------------------------------------------------

    def cooling_for_s(self) -> float:
        """Seconds the upstream still cools down for the fleet (or this worker's own cool-down,
        when longer or Redis is down)."""
        local = super().cooling_for_s()
        if not self._link.up:
            return local
        try:
            fleet: float = self._link.run("budget cooling", lambda r: int(
                COOLING(r, self.keys[:1], ())) / 1e6)
        except RedisDown:
            return local
        return max(local, fleet)

    @property
    def rate_per_s(self) -> float:
        """The fleet's pacing rate (this worker's local share while Redis is down)."""
        with self._lock:
            if self._link.up:
                return self._fleet_rate
            self._use_local_share()
            return self._pace.rate

    def snapshot(self) -> UpstreamReport:
        """The local budget's figures, with the fleet's rate and cool-down."""
        report = super().snapshot()
        rate, cooling = self.rate_per_s, self.cooling_for_s()
        with self._lock:
            # The local pace is a rate this worker paced at only once it was a share (its
            # maximum is the share's, below the fleet's); before, it merely counted.
            lowest = self._fleet_min if self._share is None else \
                min(self._fleet_min, self._pace.min_seen)
            return replace(report, rate_per_s=round(rate, 3), cooling_for_s=round(cooling, 3),
                           min_rate_per_s=round(lowest, 3),
                           max_rate_per_s=round(self._fleet_max, 3))

    # --- internals ----------------------------------------------------------------------------

    def _ask_admit(self, ticket_id: str, since_us: int, left: float,
                   probe: bool) -> AdmitReply:
        life_us = round((min(left, _MAX_TICKET_S) + _TICKET_SLACK_S) * 1e6)
        args = (self._start_rate, self.settings.max_in_flight, ticket_id, life_us,
                self.worker_id, 1 if probe else 0, self._ttl_ms, self._window_us, since_us,
                round(min(left, STATE_TTL_S) * 1e6), round(_RECHECK_S * 1e6),
                round(_CLAIM_GRACE_S * 1e6), round(_POLL_S * 1e6))
        reply = self._link.run("budget admit", lambda r: AdmitReply.parse(
            ADMIT(r, self.keys, args)))
        self._heard(reply.rate_per_s, reply.alive)
        return reply

    def _wait_within(self, kind: str, wait: float, left: float, provider: str) -> float:
        """How long to wait before asking again, or the refusal when the deadline ends first
        (the same refusals as the local budget's)."""
        if kind == "cool":
            if wait > left:
                with self._lock:
                    self._cooling_skips += 1
                raise UpstreamCoolingError(
                    f"{self.name} is cooling down after HTTP 429 (fleet-wide) for {wait:.1f}s "
                    f"more; the request has {max(0.0, left):.1f}s left",
                    cooling_for_s=wait, provider=provider)
            return min(wait, _RECHECK_S)
        if kind in ("pace", "turn"):
            if wait > left:
                raise ThrottledError(
                    f"{self.name}: paced at {self.rate_per_s:.2f} requests/s fleet-wide, no "
                    f"slot within the {max(0.0, left):.1f}s the request has left",
                    provider=provider)
            return min(wait, _RECHECK_S)
        if left <= 0:
            raise ThrottledError(f"{self.name}: no free request slot fleet-wide (max_in_flight "
                                 f"{self.settings.max_in_flight}) within the deadline",
                                 provider=provider)
        return min(left, _POLL_S)

    def _heard(self, rate: float, alive: int) -> None:
        with self._lock:
            self._fleet_rate, self._alive = rate, alive
            self._fleet_min = min(self._fleet_min, rate)
            self._fleet_max = max(self._fleet_max, rate)

    def _use_local_share(self) -> None:
        """Pace this worker at its share of the fleet's rate (called with the lock held)."""
        workers = self._link.settings.expected_workers or self._alive or 1
        share = self._fleet_rate / workers
        if share == self._share:
            return
        self._share = share
        local = self.settings.model_copy(update={
            "initial_rate_per_s": share, "max_rate_per_s": share,
            "min_rate_per_s": min(self.settings.min_rate_per_s, share)})
        self._pace = AdaptiveRate(local, start_rate_per_s=share, now=self._clock())
        log.info("%s: Redis is down, this worker paces itself at %.2f/s (the fleet's %.2f/s "
                 "shared by %d workers)", self.name, share, self._fleet_rate, workers)

    def _push_cooling(self) -> None:
        """Give the fleet this worker's cool-down (a 429 it saw while Redis was down)."""
        with self._lock:
            left = self._cooling_until - self._clock()
        if left > 0:
            self._link.run("budget cooling push", lambda r: PUSH_COOLING(
                r, self.keys[:1], (round(left * 1e6), self._ttl_ms)))

    def _push_cooling_quietly(self) -> None:
        with contextlib.suppress(RedisDown):  # pushed by the reconciler when Redis returns
            self._push_cooling()

