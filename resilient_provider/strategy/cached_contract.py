"""Cache reads are checked against the data contract, as provider answers are.

A cache holds what another process, an older version or a damaged disk left there: an entry
stamped in the future (fresh for ever), one whose stamp overflows date conversions, another
symbol's data, a price that is NaN or not positive. Such an entry is treated as absent (a cache
miss, logged once per read at WARNING), never served.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..cache.base import CacheEntry, stamp_problem
from ..logs import describe_symbols, get_logger
from .contract import check_info

log = get_logger(__name__)


def trusted_entries(found: Mapping[str, CacheEntry], now: float) -> dict[str, CacheEntry]:
    """The entries of ``found`` (by symbol) whose stamp is believable at epoch ``now`` and
    whose data keeps the data contract, with every core field present; the others are left
    out, with one WARNING naming them."""
    trusted: dict[str, CacheEntry] = {}
    refused: dict[str, str] = {}
    for symbol, entry in found.items():
        problem = stamp_problem(entry, now)
        if problem is None:
            checked = check_info(symbol, entry.data, provider=entry.provider)
            if isinstance(checked, dict):
                trusted[symbol] = CacheEntry(checked, entry.fetched_at, entry.provider)
                continue
            problem = checked.message
        refused[symbol] = problem
    if refused:
        symbol, problem = next(iter(refused.items()))
        log.warning("cache entries for %s fail the data contract, treated as absent (%s: %s)",
                    describe_symbols(list(refused)), symbol, problem)
    return trusted
