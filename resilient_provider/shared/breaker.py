"""Circuit breakers shared by a fleet: a provider's breaker opened by one worker is open for all.

Why one Lua script: the state machine of :class:`~..strategy.breaker.CircuitBreaker` (same
settings, same semantics: ``failure_threshold`` failures within ``window_s`` open it,
``reset_timeout_s`` or a ``Retry-After`` keeps it open, at most ``half_open_max_calls`` trials
*fleet-wide*, ``success_threshold`` good trials close it, a failed one reopens it) runs in
:mod:`.breaker_script`, one atomic EVALSHA per operation. Workers never read, decide and
write back, so two of them can never both take the last trial slot or both miss the failure
that opens it; and time is Redis's (``TIME``), so a worker whose clock is hours off changes
nothing.

The three keys of a breaker (its state hash, the failures inside the window, the trial slots of
a half-open period) share the hash tag ``{name}`` (one Redis Cluster slot) and always carry a
TTL: a breaker nobody touched for longer than its longest period is a closed one again, which
costs a few calls, never a wrong answer; a permit of a lost state never matches a new one's.

Redis is never needed: each :class:`SharedBreaker` keeps a local :class:`CircuitBreaker`. While
Redis is down every call goes to it, and its permits (plain :class:`Permit`) report to it even
after Redis is back, while the shared ones (:class:`SharedPermit`) report to Redis; a shared
permit's failure that finds Redis down counts locally, so an outage of both still opens a
breaker. An open state seen in Redis is mirrored locally (Redis dying mid-outage must not let
the failing calls through again), and on Redis's return a locally open breaker is pushed there
for the rest of its open time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import BreakerSettings
from ..logs import get_logger
from ..strategy.breaker import (
    BreakerSnapshot,
    BreakerState,
    CircuitBreaker,
    Permit,
    StateListener,
)
from .breaker_script import SCRIPT, ScriptReply
from .link import RedisDown, RedisLink

if TYPE_CHECKING:
    import redis
    from redis.commands.core import Script

log = get_logger(__name__)

@dataclass(frozen=True, slots=True)
class SharedPermit(Permit):
    """A permit issued by Redis: its outcome is reported there (a plain one, issued while Redis
    was down, reports to the worker's local breaker)."""


#: Operations that only read or take a permit: asked again if a push overtook them.
_ASK_AGAIN = frozenset({"state", "acquire"})


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


class SharedBreaker:
    """A drop-in for :class:`CircuitBreaker` whose state lives in Redis (see the module
    docstring), with a local breaker for while Redis is down.

    Args:
        name: the provider's name; its keys are ``<prefix>:breaker:{name}:...``.
        settings: the breaker settings (each worker's own, passed with every operation).
        link: the worker's Redis link.
        clock: epoch seconds for the local breaker only; the shared state runs on Redis's time.
        trial_timeout_s: after it, a trial that never reported frees its slot.
        listeners: called ``(name, old, new)`` on each transition this worker observes: the
            ones it causes, and those of other workers it sees at its next operation.
    """

    def __init__(self, name: str, settings: BreakerSettings, *, link: RedisLink,
                 clock: Callable[[], float], trial_timeout_s: float,
                 listeners: tuple[StateListener, ...] = ()) -> None:
        self.name = name
        self.settings = settings
        self._link = link
        self._trial_timeout_ms = _ms(trial_timeout_s)
        self._listeners = listeners
        self._lock = threading.Lock()
        self._script: Script | None = None
        self._seen = BreakerState.CLOSED
        self._seen_generation = -1
        self._mirrored_generation = -1
        self._pushes = 0  # local open states pushed to Redis so far
        tag = "{" + name.replace("{", "(").replace("}", ")") + "}"  # one hash tag per breaker
        self.keys = tuple(link.key("breaker", tag, part) for part in ("state", "failures",
                                                                       "trials"))
        #: The breaker every call goes to while Redis is down.
        self.local = CircuitBreaker(name, settings, clock=clock, trial_timeout_s=trial_timeout_s,
                                    listeners=(self._local_transition,))
        link.on_return(self._push_local_open)

    # --- queries -----------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The current state (an OPEN breaker whose time is up reads as HALF_OPEN)."""
        try:
            return self._run("state").state
        except RedisDown:
            return self.local.state

    def retry_in_s(self) -> float:
        """Seconds until an OPEN breaker lets a trial through (0 when not OPEN)."""
        try:
            reply = self._run("state")
        except RedisDown:
            return self.local.retry_in_s()
        return reply.open_left_ms / 1000 if reply.state is BreakerState.OPEN else 0.0

    def snapshot(self) -> BreakerSnapshot:
        """State, failures in the window and trips (fleet-wide), and time to retry."""
        try:
            reply = self._run("state")
        except RedisDown:
            return self.local.snapshot()
        return BreakerSnapshot(
            state=reply.state.value, failure_count=reply.failure_count, trips=reply.trips,
            retry_in_s=(round(reply.open_left_ms / 1000, 3)
                        if reply.state is BreakerState.OPEN else None),
            open_for_s=round(reply.unhealthy_ms / 1000, 3) if reply.unhealthy_ms >= 0 else None,
        )

    # --- the call protocol -------------------------------------------------------------------

    def acquire(self) -> Permit | None:
        """A permit to call the provider, or None when the breaker rejects the call."""
        try:
            reply = self._run("acquire")
        except RedisDown:
            return self.local.acquire()
        if not reply.result:
            return None
        return SharedPermit(reply.result, reply.generation,
                            trial=reply.state is BreakerState.HALF_OPEN)

    def record_success(self, permit: Permit) -> None:
        """The permitted call succeeded."""
        if not isinstance(permit, SharedPermit):
            self.local.record_success(permit)
            return
        # Lost while Redis is down: a trial's slot frees itself after the trial timeout.
        with suppress(RedisDown):
            self._run("success", permit)

    def record_failure(self, permit: Permit, *, hold_open_s: float | None = None) -> bool:
        """The permitted call failed against the provider's health; True if this opened the
        breaker (of concurrent failures fleet-wide, exactly one opens it)."""
        if not isinstance(permit, SharedPermit):
            return self.local.record_failure(permit, hold_open_s=hold_open_s)
        try:
            return bool(self._run("failure", permit, for_s=hold_open_s or 0.0).result)
        except RedisDown:
            return self._fail_locally(hold_open_s)

    def release(self, permit: Permit) -> None:
        """The permitted call ended with an outcome that says nothing about provider health."""
        if not isinstance(permit, SharedPermit):
            self.local.release(permit)
            return
        with suppress(RedisDown):
            self._run("release", permit)

    def hold_open(self, for_s: float) -> bool:
        """Open now (if not already) for all, at least ``for_s`` seconds; True if this opened
        it (False if it was open already and is only held longer)."""
        try:
            return bool(self._run("hold", for_s=for_s).result)
        except RedisDown:
            return self.local.hold_open(for_s)

    # --- internals -----------------------------------------------------------------------------

    def _run(self, op: str, permit: Permit | None = None, *, for_s: float = 0.0) -> ScriptReply:
        """One atomic step of the state machine in Redis (:class:`RedisDown` if it is down)."""
        s = self.settings
        args = (op, s.failure_threshold, _ms(s.window_s), _ms(s.reset_timeout_s),
                s.success_threshold, s.half_open_max_calls, self._trial_timeout_ms,
                permit.id if permit else 0, permit.generation if permit else 0,
                int(permit.trial) if permit else 0, _ms(for_s))

        def step() -> Any:
            return self._link.run(f"breaker {self.name} {op}", lambda r: self._script_for(r)(
                keys=self.keys, args=args, client=r))

        pushes = self._pushes
        raw = step()
        if op in _ASK_AGAIN and self._pushes != pushes:
            # This call brought Redis back, and its answer came before the local open state
            # was pushed (see _push_local_open): ask again rather than let a call through.
            raw = step()
        reply = ScriptReply.parse(raw)
        self._observe(reply)
        return reply

    def _script_for(self, client: redis.Redis) -> Script:
        with self._lock:
            if self._script is None:  # EVALSHA, loading the script where it is missing
                self._script = client.register_script(SCRIPT)
            return self._script

    def _observe(self, reply: ScriptReply) -> None:
        """Tell the listeners of a state this worker had not seen; mirror an open one locally."""
        with self._lock:
            if reply.generation < self._seen_generation:
                return  # overtaken by a newer reply of another thread
            self._seen_generation = reply.generation
            old, self._seen = self._seen, reply.state
            mirror = (reply.state is BreakerState.OPEN
                      and reply.generation != self._mirrored_generation)
            if mirror:
                self._mirrored_generation = reply.generation
        if mirror:
            self.local.hold_open(reply.open_left_ms / 1000)
        self._tell(old, reply.state)

    def _local_transition(self, name: str, old: BreakerState, new: BreakerState) -> None:
        """The local breaker moved: news while it is the one in use (Redis down), not while it
        only mirrors Redis."""
        if self._link.up:
            return
        with self._lock:
            seen, self._seen = self._seen, new
        self._tell(seen, new)

    def _tell(self, old: BreakerState, new: BreakerState) -> None:
        if old is not new:
            for listener in self._listeners:
                listener(self.name, old, new)

    def _fail_locally(self, hold_open_s: float | None) -> bool:
        """A shared permit's failure Redis could not take: evidence for the local breaker."""
        permit = self.local.acquire()
        if permit is None:
            return False  # open locally already
        return self.local.record_failure(permit, hold_open_s=hold_open_s)

    def _push_local_open(self) -> None:
        """On Redis's return: a breaker open here is opened there for the rest of its time."""
        left_s = self.local.retry_in_s()
        if left_s <= 0:
            return
        pushed = self._run("push", for_s=left_s).result
        with self._lock:
            self._pushes += 1
        if pushed:
            log.info("%s: circuit opened while Redis was down; open for the fleet for its "
                     "remaining %.1fs", self.name, left_s)
