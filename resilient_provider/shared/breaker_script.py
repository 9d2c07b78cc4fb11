"""The Lua script that runs a shared circuit breaker's state machine in Redis, on its clock.

One script for every operation (acquire, success, failure, release, hold, push, state): each
step reads and writes several keys at once while N workers call, and a script runs atomically,
so no two workers can both take the last trial slot or both miss the failure that opens the
breaker, and no lock is lost with a dead worker. Time is the server's (``TIME``, integer
milliseconds), one clock for every worker however skewed theirs are. Large numbers go to
``redis.call`` as ``%d`` strings: neither ``tostring`` (14 digits) nor the server's own number
formatting may round a permit id or a timestamp.

A (re)created state starts its generation at the server's time and its permit ids at a
thousand times that, so a permit of a state that expired or was lost with a restarted Redis
never matches the new one's and ids stay unique fleet-wide. Every key gets a TTL at every
step: its longest period (window, open time, trial timeout) plus :data:`TTL_MARGIN_MS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..strategy.breaker import BreakerState

#: How much longer than a breaker's longest period (window, open time, trial timeout) its keys
#: live: a state still in use is always rewritten well before it expires.
TTL_MARGIN_MS = 60_000

# KEYS: state hash, failures (zset: permit id -> failed at), trials (zset: permit id -> issued
# at; a member is an unreported trial of this half-open period, holding a slot until the trial
# timeout). ARGV: op, failure_threshold, window_ms, reset_ms, success_threshold,
# half_open_max_calls, trial_timeout_ms, permit id, permit generation, permit trial (0/1),
# for_ms (hold_open / push / Retry-After). Returns {result, state, generation, open_left_ms
# (-1 unless open), failures in the window, trips, unhealthy_ms (-1 when closed)}; result is
# the permit id (acquire, 0: refused) or 1 if this call opened the breaker.
SCRIPT = """
local state_key, failures_key, trials_key = KEYS[1], KEYS[2], KEYS[3]
local op = ARGV[1]
local threshold, window, reset = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local needed, max_trials, trial_timeout = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local permit_id, permit_gen, permit_trial = ARGV[8], tonumber(ARGV[9]), ARGV[10] == '1'
local for_ms = tonumber(ARGV[11])
local function int(x) return string.format('%d', x) end

-- Redis < 7 replicates scripts verbatim unless told: TIME before a write needs effects.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local h = redis.call('HMGET', state_key, 'state', 'gen', 'open_until', 'trips', 'successes',
                     'since')
local state, gen, open_until = h[1], tonumber(h[2]), tonumber(h[3]) or 0
local trips, successes, since = tonumber(h[4]) or 0, tonumber(h[5]) or 0, tonumber(h[6]) or -1
if not state then
  state, gen = 'closed', now
  redis.call('DEL', failures_key, trials_key)
  redis.call('HSET', state_key, 'ids', int(now * 1000))
end

local function transition(new)
  if new == 'closed' then since = -1 elseif state == 'closed' then since = now end
  state, gen, successes = new, gen + 1, 0
  redis.call('DEL', failures_key, trials_key)
end
local function open(until_ms)
  open_until, trips = until_ms, trips + 1
  transition('open')
end
local function failures()
  redis.call('ZREMRANGEBYSCORE', failures_key, '-inf', int(now - window))
  return redis.call('ZCARD', failures_key)
end
local function report_trial()
  return permit_trial and permit_gen == gen and state == 'half_open'
    and redis.call('ZREM', trials_key, permit_id) == 1
end

if state == 'open' and now >= open_until then transition('half_open') end

local result = 0
if op == 'acquire' then
  if state == 'closed' then
    result = redis.call('HINCRBY', state_key, 'ids', 1)
  elseif state == 'half_open' and max_trials >
      redis.call('ZCOUNT', trials_key, '(' .. int(now - trial_timeout), '+inf') then
    result = redis.call('HINCRBY', state_key, 'ids', 1)
    redis.call('ZADD', trials_key, int(now), int(result))
  end
elseif op == 'success' then
  if report_trial() then
    successes = successes + 1
    if successes >= needed then transition('closed') end
  end
elseif op == 'failure' then
  if state == 'half_open' and permit_trial then
    if report_trial() then open(now + math.max(reset, for_ms)); result = 1 end
  elseif state == 'closed' and permit_gen == gen then
    redis.call('ZADD', failures_key, int(now), permit_id)
    if failures() >= threshold then open(now + math.max(reset, for_ms)); result = 1 end
  end
elseif op == 'release' then
  report_trial()
elseif op == 'hold' or op == 'push' then
  if state == 'open' then
    open_until = math.max(open_until, now + for_ms)
  else
    if op == 'hold' then for_ms = math.max(reset, for_ms) end
    open(now + for_ms)
    result = 1
  end
end

redis.call('HSET', state_key, 'state', state, 'gen', int(gen), 'open_until', int(open_until),
           'trips', trips, 'successes', successes, 'since', int(since))
local ttl = math.max(window, reset, trial_timeout, open_until - now) + TTL_MARGIN_MS
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, int(ttl)) end
local left, count, unhealthy = -1, 0, -1
if state == 'open' then left = open_until - now end
if state == 'closed' then count = failures() end
if since >= 0 then unhealthy = now - since end
return {result, state, gen, left, count, trips, unhealthy}
""".replace("TTL_MARGIN_MS", str(TTL_MARGIN_MS))


@dataclass(frozen=True, slots=True)
class ScriptReply:
    """What the script answered: its result and the breaker's state after the operation."""

    result: int
    state: BreakerState
    generation: int
    open_left_ms: int
    failure_count: int
    trips: int
    unhealthy_ms: int

    @classmethod
    def parse(cls, raw: list[Any]) -> ScriptReply:
        result, state, generation, left, count, trips, unhealthy = raw
        name = state.decode() if isinstance(state, bytes) else str(state)
        return cls(int(result), BreakerState(name), int(generation), int(left),
                   int(count), int(trips), int(unhealthy))
