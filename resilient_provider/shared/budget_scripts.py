"""The Lua scripts that decide a fleet's upstream budget in Redis, on Redis's clock.

Why scripts: every decision (may this request go now? what does this 429 change?) reads and
writes several fields at once, and N workers ask at the same time; a script runs atomically,
so there is no read-modify-write race and no lock to lose with a dead worker. Why server time
(``redis.call('TIME')``): the workers' clocks may be skewed by seconds, the server's is one
clock for all of them. Times are integer microseconds (exact in Lua's doubles until 2255);
numbers are handed to ``redis.call`` as numbers, never through ``tostring`` (which keeps 14
digits and would round a microsecond timestamp).

One upstream's keys share a hash tag (Redis Cluster puts them in one slot, which a script
needs) and each has a TTL, refreshed by use:

* ``state`` (hash): ``rate`` (requests/s), ``tat`` (the earliest next grant), ``cool`` (cooling
  until), ``cut`` (the last cut), ``row`` (cool-downs in a row), ``ceil`` (the limit as last
  seen; absent: slow start), ``ws``/``wn``/``wt`` (the window that decides a rise: its start,
  requests granted in it, whether a 429 came in it), ``claim``/``claimed``/``claim_until``
  (the oldest waiting request, which the next slot is for). Lives ``state_ttl`` unused, and
  at least until a cool-down ends.
* ``tickets`` (sorted set): requests in flight, scored by when they lapse, so a dead worker's
  tickets stop counting against the in-flight cap.
* ``workers`` (sorted set): who asked lately, scored by when: how many share the budget.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis

#: Shared by every script: the server's time and the heartbeat of the asking worker.
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function heartbeat(key, worker, window_us)
  redis.call('ZADD', key, now, worker)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_us)
  redis.call('PEXPIRE', key, math.ceil(window_us / 1000) * 2)
  return redis.call('ZCARD', key)
end
local function keep_state(key, ttl_ms, cool)
  redis.call('PEXPIRE', key, math.max(ttl_ms, math.ceil((cool - now) / 1000) + 60000))
end
"""

#: KEYS state, tickets, workers. ARGV start rate, max in flight, ticket id, ticket life (us),
#: worker id, probe (1/0), state ttl (ms), worker window (us), since (us: when this request
#: first asked, 0: now), time left (us), longest wait between asks (us), claim grace (us),
#: wait for the claimant (us).
#: Returns {kind, value, rate, alive, since}: kind 'ok' (value: the grant's server time),
#: 'cool', 'pace' or 'turn' (value: microseconds to wait), 'full' (the in-flight cap is
#: reached; value: microseconds to wait).
#:
#: Why a claim: which of several workers asking at the same moment Redis serves first follows
#: its event loop's order, not chance, so a plain "first come" starved some workers (0 of 47
#: requests in 10 s for one of 8). The oldest waiting request claims the next slot; the
#: others wait their turn. A claim lapses unless renewed (a dead or refused claimant), and a
#: request that will give up (its wait exceeds its deadline) claims nothing.
_ADMIT = _PRELUDE + """
local alive = heartbeat(KEYS[3], ARGV[5], tonumber(ARGV[8]))
local me, probe = ARGV[3], ARGV[6] == '1'
local since, left = tonumber(ARGV[9]), tonumber(ARGV[10])
if since <= 0 then since = now end
local f = redis.call('HMGET', KEYS[1], 'rate', 'tat', 'cool', 'claim', 'claimed', 'claim_until')
local rate = tonumber(f[1]) or tonumber(ARGV[1])
local tat, cool = tonumber(f[2]) or 0, tonumber(f[3]) or 0
local claim, claimed, claim_until = f[4], tonumber(f[5]) or 0, tonumber(f[6]) or 0
local valid = claim and claim_until > now and claim ~= me
local shown = string.format('%.6f', rate)
local function deny(kind, wait)
  if not probe then
    if wait <= left and (not valid or since < claimed) then
      redis.call('HSET', KEYS[1], 'claim', me, 'claimed', since, 'claim_until',
                 now + math.min(wait, tonumber(ARGV[11])) + tonumber(ARGV[12]))
    elseif claim == me then
      redis.call('HDEL', KEYS[1], 'claim', 'claimed', 'claim_until')  -- it gives up
    end
    keep_state(KEYS[1], tonumber(ARGV[7]), cool)
  end
  return {kind, wait, shown, alive, since}
end
if cool > now then return deny('cool', cool - now) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then
  return deny('full', tonumber(ARGV[13]))
end
if not probe and tat > now then return deny('pace', tat - now) end
if not probe and valid and claimed <= since then return deny('turn', tonumber(ARGV[13])) end
-- Spacing counts from the grant, not from a slot a sleeping worker may have overslept: no
-- burst after a late wake.
local interval = math.floor(1000000 / rate + 0.5)
redis.call('HSET', KEYS[1], 'rate', rate, 'tat', math.max(tat, now) + interval)
if claim == me then redis.call('HDEL', KEYS[1], 'claim', 'claimed', 'claim_until') end
redis.call('HSETNX', KEYS[1], 'ws', now)
redis.call('HINCRBY', KEYS[1], 'wn', 1)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), me)
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[2], math.ceil((tonumber(last[2]) - now) / 1000) + 1000)
keep_state(KEYS[1], tonumber(ARGV[7]), cool)
return {'ok', now, shown, alive, since}
"""

#: KEYS state, tickets, workers. ARGV ticket id, kind ('429', 'ok': a status < 500, 'other'),
#: the ticket's grant time (us), Retry-After (us, -1: none), worker id, worker window (us),
#: state ttl (ms), start rate, min rate, max rate, decrease factor, increase factor,
#: increase interval (us), safe share, probe share per s, cooldown (us), max cooldown (us).
#: Returns {cooling left (us), rate, alive, 1 when this 429 started a cool-down}.
_SETTLE = _PRELUDE + """
redis.call('ZREM', KEYS[2], ARGV[1])
local alive = heartbeat(KEYS[3], ARGV[5], tonumber(ARGV[6]))
local kind, sent, retry = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local min_rate, max_rate = tonumber(ARGV[9]), tonumber(ARGV[10])
local decrease, factor = tonumber(ARGV[11]), tonumber(ARGV[12])
local f = redis.call('HMGET', KEYS[1], 'rate', 'cool', 'cut', 'row', 'ceil', 'ws', 'wn', 'wt')
local rate = tonumber(f[1]) or tonumber(ARGV[8])
local cool, cut, row = tonumber(f[2]) or 0, tonumber(f[3]) or 0, tonumber(f[4]) or 0
local ceil = tonumber(f[5])
local ws, wn, wt = tonumber(f[6]) or now, tonumber(f[7]) or 0, tonumber(f[8]) or 0
local function bounded(r) return math.min(max_rate, math.max(min_rate, r)) end
local started = 0
if kind == '429' then
  wt = 1
  -- Sent after the last cut: news; answers to requests already in flight then are echoes.
  local news = sent > cut
  if news then
    if row == 0 and (ceil == nil or rate >= decrease * ceil) then
      ceil = math.min(rate, ceil or rate)  -- the rate that drew it stands for the limit
    end
    rate = bounded(rate * decrease)
    cut = now
  end
  local pause = -1
  if retry >= 0 then
    pause = retry
  elseif news then
    pause = math.min(tonumber(ARGV[16]) * 2 ^ row, tonumber(ARGV[17]))
    row = row + 1
  end
  if pause >= 0 and now + pause > cool then
    if cool <= now then started = 1 end
    cool = now + pause
  end
elseif kind == 'ok' then
  row = 0
end
local elapsed = now - ws
if elapsed >= tonumber(ARGV[13]) then
  if wt == 0 and wn >= 0.5 * rate * elapsed / 1000000 then
    if ceil == nil then
      rate = rate * factor  -- slow start: no limit seen yet
    elseif rate < tonumber(ARGV[14]) * ceil then
      rate = math.min(rate * factor, tonumber(ARGV[14]) * ceil)
    else
      rate = rate + tonumber(ARGV[15]) * ceil * elapsed / 1000000
      ceil = math.max(ceil, rate)  -- no 429 up here: the limit has moved
    end
    rate = bounded(rate)
  end
  ws, wn, wt = now, 0, 0
end
redis.call('HSET', KEYS[1], 'rate', rate, 'cool', cool, 'cut', cut, 'row', row,
           'ws', ws, 'wn', wn, 'wt', wt)
if ceil ~= nil then redis.call('HSET', KEYS[1], 'ceil', ceil) end
keep_state(KEYS[1], tonumber(ARGV[7]), cool)
return {math.max(0, cool - now), string.format('%.6f', rate), alive, started}
"""

#: KEYS state. Returns microseconds the upstream still cools down.
_COOLING = _PRELUDE + """
local cool = tonumber(redis.call('HGET', KEYS[1], 'cool')) or 0
return math.max(0, cool - now)
"""

#: KEYS state. ARGV pause (us), state ttl (ms): cool down for at least ``pause`` from now (a
#: worker's cool-down from while Redis was down, pushed on its return).
_PUSH_COOLING = _PRELUDE + """
local cool = tonumber(redis.call('HGET', KEYS[1], 'cool')) or 0
if now + tonumber(ARGV[1]) > cool then
  cool = now + tonumber(ARGV[1])
  redis.call('HSET', KEYS[1], 'cool', cool)
end
keep_state(KEYS[1], tonumber(ARGV[2]), cool)
return 1
"""


class LuaScript:
    """A script run by its SHA1 (EVALSHA), sent whole only when the server lacks it (after a
    restart, or the first time)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def __call__(self, client: redis.Redis, keys: tuple[str, ...],
                 args: tuple[str | int | float, ...]) -> Any:
        """Run the script on ``client`` (raises redis-py's errors, for the link to judge)."""
        from redis.exceptions import NoScriptError

        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return client.eval(self.source, len(keys), *keys, *args)


ADMIT = LuaScript(_ADMIT)
SETTLE = LuaScript(_SETTLE)
COOLING = LuaScript(_COOLING)
PUSH_COOLING = LuaScript(_PUSH_COOLING)


@dataclass(frozen=True, slots=True)
class AdmitReply:
    """What the admit script decided: ``kind`` ``"ok"`` (granted at server time
    ``granted_us``), ``"cool"``, ``"pace"`` or ``"turn"`` (wait ``wait_s``), ``"full"`` (the
    in-flight cap is reached); the fleet's rate, how many workers asked lately, and when this
    request first asked (server time, for its place in the line)."""

    kind: str
    wait_s: float
    granted_us: int
    rate_per_s: float
    alive: int
    since_us: int

    @classmethod
    def parse(cls, reply: Any) -> AdmitReply:
        kind, value, rate, alive, since = reply
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        granted = kind == "ok"
        return cls(kind, 0.0 if granted else int(value) / 1e6, int(value) if granted else 0,
                   float(rate), int(alive), int(since))


@dataclass(frozen=True, slots=True)
class SettleReply:
    """What a settled answer left: the fleet's cool-down, rate, live workers, and whether this
    answer started a cool-down."""

    cooling_s: float
    rate_per_s: float
    alive: int
    started_cooldown: bool

    @classmethod
    def parse(cls, reply: Any) -> SettleReply:
        cooling, rate, alive, started = reply
        return cls(int(cooling) / 1e6, float(rate), int(alive), bool(int(started)))


_UNSAFE_IN_KEY = re.compile(r"[^A-Za-z0-9_.-]")


def key_safe(part: str) -> str:
    """``part`` with only characters safe in a key (no braces: they would move the hash tag)."""
    return _UNSAFE_IN_KEY.sub("_", part)[:64] or "unknown"
