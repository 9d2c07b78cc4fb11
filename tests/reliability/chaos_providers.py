"""A seeded, faulty stand-in provider for the chaos and concurrency tests.

Each call rolls, on its own seeded RNG, whether it fails and how: the whole call (an error
raised, an exception that is not ours, a hang past the timeout, a 429 with or without
Retry-After) or per symbol (an error answer, or garbage: NaN, negative, zero or infinite
prices, another symbol's data, strings and lists for dicts, wrong types, truncated JSON).
Good answers are always :func:`good_info` of the symbol, so a test can tell that what it was
served is the real data and never garbage.
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from resilient_provider.errors import (
    NetworkError,
    ProviderUnavailableError,
    RateLimitError,
    ServerError,
)
from resilient_provider.providers.protocol import InfoOrError
from resilient_provider.testing import make_info


def good_info(symbol: str) -> dict[str, Any]:
    """The one true answer for ``symbol`` (the same every time)."""
    return make_info(symbol)


def _garbage(symbol: str, kind: str) -> object:
    good = good_info(symbol)
    if kind == "nan_price":  # one price field NaN, the other fine: still garbage
        return {**good, "regularMarketPrice": math.nan}
    if kind == "negative_price":
        return {**good, "regularMarketPrice": -abs(good["regularMarketPrice"])}
    if kind == "zero_price":
        return {**good, "regularMarketPrice": 0.0, "currentPrice": 0.0}
    if kind == "inf_price":
        return {**good, "currentPrice": math.inf}
    if kind == "nan_only":
        return {**good, "regularMarketPrice": math.nan, "currentPrice": None}
    if kind == "wrong_symbol":
        other = "ZZWRONG" if symbol != "ZZWRONG" else "YYWRONG"
        return good_info(other)
    if kind == "string_for_dict":
        return f"Quote not found for symbol: {symbol}"
    if kind == "list_for_dict":
        return [good]
    if kind == "none_for_dict":
        return None
    if kind == "string_price":
        return {**good, "regularMarketPrice": str(good["regularMarketPrice"]), "currentPrice": None}
    if kind == "bool_price":
        return {**good, "regularMarketPrice": True, "currentPrice": None}
    if kind == "wrong_types":
        return {**good, "marketCap": "lots", "shortName": 12}
    if kind == "dict_for_str":
        return {**good, "currency": {"raw": "USD"}}
    raise ValueError(kind)


GARBAGE_KINDS = ("nan_price", "negative_price", "zero_price", "inf_price", "nan_only",
                 "wrong_symbol", "string_for_dict", "list_for_dict", "none_for_dict",
                 "string_price", "bool_price", "wrong_types", "dict_for_str")

#: Faults of a whole call, and their weights among the failing calls.
CALL_FAULTS = {"raise_unavailable": 3, "raise_foreign": 2, "hang": 1, "rate_limited": 2,
               "rate_limited_retry_after": 1, "rate_limited_long_retry_after": 1,
               "truncated_json": 2, "per_symbol": 8}
#: A 429 storm: nearly every failing call is refused, with and without Retry-After.
STORM_FAULTS = {"rate_limited": 6, "rate_limited_retry_after": 2,
                "rate_limited_long_retry_after": 1, "per_symbol": 1}
#: Faults of one symbol in a call that failed per symbol.
SYMBOL_FAULTS = {"error": 3, "server_error": 1, "garbage": 6}


class ChaosProvider:
    """A provider failing ``fail_rate`` of its calls in seeded, mixed ways (at 1.0, it never
    gives a good answer in time).

    ``hang_s`` is how long a hung call blocks (in real time: the call runner's timeout is real);
    give the provider a shorter ``timeout_s`` so the hang is cut. ``faults`` counts each fault
    injected by kind; ``lookups`` the symbols asked for (what the statistics call ``calls``),
    ``good`` the true answers given in time (not those of a hung call).
    """

    def __init__(self, name: str, fail_rate: float, *, seed: int, hang_s: float = 0.15,
                 kinds: Mapping[str, int] | None = None, upstream: str | None = None) -> None:
        self.name = name
        if upstream is not None:
            self.upstream = upstream  # the host it declares: its calls share that budget
        self.fail_rate = fail_rate
        self.hang_s = hang_s
        self.kinds = dict(kinds if kinds is not None else CALL_FAULTS)
        self.faults: Counter[str] = Counter()
        self.lookups = 0
        self.good = 0
        self._rng = random.Random(f"{name}:{seed}")
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def _roll(self, symbols: Sequence[str]) -> tuple[str | None, dict[str, str]]:
        with self._lock:
            self.lookups += len(symbols)
            if self._rng.random() >= self.fail_rate:
                self.good += len(symbols)
                return None, {}
            kind = self._rng.choices(list(self.kinds), weights=list(self.kinds.values()))[0]
            per_symbol: dict[str, str] = {}
            if kind == "per_symbol":
                for symbol in symbols:
                    if len(symbols) > 1 and self.fail_rate < 1 and self._rng.random() < 0.3:
                        continue  # the others of a batch call may still be answered
                    fault = self._rng.choices(list(SYMBOL_FAULTS),
                                              weights=list(SYMBOL_FAULTS.values()))[0]
                    if fault == "garbage":
                        fault = self._rng.choice(GARBAGE_KINDS)
                    per_symbol[symbol] = fault
                    self.faults[fault] += 1
                self.good += len(symbols) - len(per_symbol)
            else:
                self.faults[kind] += 1
            return kind, per_symbol

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        """Answer ``symbols``, or fail as rolled."""
        kind, per_symbol = self._roll(symbols)
        if kind == "raise_unavailable":
            raise NetworkError("connection reset by peer", provider=self.name)
        if kind == "raise_foreign":
            raise RuntimeError("something inside the library broke")
        if kind == "hang":
            self._closed.wait(self.hang_s)
            return {s: good_info(s) for s in symbols}  # too late: must be discarded
        if kind == "rate_limited":
            raise RateLimitError("HTTP 429 Too Many Requests", provider=self.name)
        if kind == "rate_limited_retry_after":
            raise RateLimitError("HTTP 429", retry_after=2.0, provider=self.name)
        if kind == "rate_limited_long_retry_after":
            raise RateLimitError("HTTP 429", retry_after=120.0, provider=self.name)
        if kind == "truncated_json":
            json.loads('{"quoteSummary":{"result":[{"price":{"regularMarketPr')
        answers: dict[str, Any] = {}  # garbage included: that is the point
        for symbol in symbols:
            fault = per_symbol.get(symbol)
            if fault is None:
                answers[symbol] = good_info(symbol)
            elif fault == "error":
                answers[symbol] = ProviderUnavailableError("no data", symbol=symbol,
                                                           provider=self.name)
            elif fault == "server_error":
                answers[symbol] = ServerError("HTTP 502", status=502, symbol=symbol,
                                              provider=self.name)
            else:
                answers[symbol] = _garbage(symbol, fault)
        return answers

    def close(self) -> None:
        """Release hung calls."""
        self._closed.set()
