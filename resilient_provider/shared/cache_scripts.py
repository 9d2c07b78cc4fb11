"""The shared cache's Lua scripts and row helpers (see :mod:`.cache`)."""

from __future__ import annotations

import re

from ..cache.base import decode_entry
from ..cache.not_found import decode_not_found

#: Delete KEYS[1] only if it still holds ARGV[1] (the unreadable bytes just read, or the row a
#: prune judged too old): a row rewritten meanwhile by another worker is kept.
DELETE_IF_UNCHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

#: Store ARGV[1] (an encoded entry fetched at ARGV[2]) at KEYS[1] for ARGV[3] ms, unless the
#: row there is an entry of schema ARGV[4] fetched at ARGV[2] or later. A row that does not
#: decode (or is no string) is replaced. Used to replay writes made while Redis was down:
#: none newer overwritten.
SET_UNLESS_NEWER = """
local held = redis.pcall('GET', KEYS[1])
if type(held) == 'string' then
  local ok, row = pcall(cjson.decode, held)
  if ok and type(row) == 'table' and row.v == tonumber(ARGV[4])
      and type(row.fetched_at) == 'number' and row.fetched_at >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


def glob_escape(text: str) -> str:
    """``text`` matched literally by a ``SCAN MATCH`` pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def ms(seconds: float) -> int:
    """A ``PX`` of ``seconds``: at least 1 ms (Redis refuses 0)."""
    return max(1, round(seconds * 1000))



def entry_fetched_at(raw: bytes) -> float | None:
    entry = decode_entry(raw)
    return None if entry is None else entry.fetched_at


def row_confirmed_at(raw: bytes) -> float | None:
    row = decode_not_found(raw)
    return None if row is None else row.confirmed_at
