"""Chaos matrix: seeded fault mixes, with a partly warm cache, never reach the analysis.

Scripted part: :class:`ChaosProvider` primary and secondary failing 10/50/100 % and 0/20/100 %
of their calls in mixed ways (errors, foreign exceptions, hangs past the timeout, 429s with and
without Retry-After, truncated JSON, garbage answers), on the fake clock, single requests and
small batches. Fake-Yahoo part: the real yfinance and yahooquery adapters over the loopback fake
Yahoo with the same kinds of faults injected server-side.

For every request: an answer (data or a tagged error), no exception, no call past its deadline
+ 0.5 s (on the clock in use, and in real time; a batch's chunks each have their own), served data that is the real data and never
garbage, and no error for a symbol whose cache entry is younger than ``max_stale_age`` for the
whole request; when both providers always fail, the answers are exactly what the cache allowed.
The statistics add up exactly to the requests made and to the provider calls made.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from resilient_provider import ResilientProvider, Settings
from resilient_provider.cache import MemoryCache
from resilient_provider.result import DataSource, FetchResult
from resilient_provider.strategy.chunk_feed import MAX_REQUEUES
from resilient_provider.testing import FakeClock, FakeYahooServer, Fault, make_info
from resilient_provider.testing.fake_yahoo.faults import GARBAGE_MODES, FaultRule
from tests.conftest import UNPACED_YAHOO, fast_settings

from .chaos_providers import STORM_FAULTS, ChaosProvider, good_info
from .scale import report, scale

pytestmark = pytest.mark.timeout(scale(120, 900))  # the long fake-Yahoo runs take minutes

DEADLINE_S = 5.0
SLACK_S = 0.5
FRESH_FOR_S = 60.0
MAX_STALE_AGE_S = 600.0
UNIVERSE = [f"T{i:03d}" for i in range(150)]
PRICE_FIELDS = ("regularMarketPrice", "currentPrice")


@dataclass
class Tally:
    """What one chaos run saw."""

    requests: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    escaped: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    garbage_served: list[str] = field(default_factory=list)
    untagged: list[str] = field(default_factory=list)
    lost_despite_cache: list[str] = field(default_factory=list)
    served_without_cache: list[str] = field(default_factory=list)
    stats_mismatches: list[str] = field(default_factory=list)
    max_call_s: float = 0.0

    def merge(self, other: Tally) -> None:
        self.requests += other.requests
        self.sources.update(other.sources)
        for name in ("escaped", "late", "garbage_served", "untagged", "lost_despite_cache",
                     "served_without_cache", "stats_mismatches"):
            getattr(self, name).extend(getattr(other, name))
        self.max_call_s = max(self.max_call_s, other.max_call_s)


def is_real_data(symbol: str, data: dict[str, Any] | None) -> bool:
    """Whether ``data`` is the true answer for ``symbol`` (never garbage that slipped through)."""
    if not isinstance(data, dict) or data.get("symbol") != symbol:
        return False
    good = good_info(symbol)
    for name in PRICE_FIELDS:
        value = data.get(name)
        if not (isinstance(value, float) and math.isfinite(value) and value == good[name]):
            return False
    return all(data.get(k) == v for k, v in good.items())


def check_result(symbol: str, result: object, tally: Tally) -> str:
    """The source of a well-formed answer for ``symbol``; problems go to ``tally``."""
    if not isinstance(result, FetchResult):
        tally.untagged.append(f"{symbol}: {result!r}"[:200])
        return "untagged"
    if result.source is DataSource.ERROR:
        if result.error is None or not result.error.code or result.data is not None:
            tally.untagged.append(f"{symbol}: error without a code: {result!r}"[:200])
        tagged = result.to_tagged_dict()
        if tagged.get("_data_source") != "error" or not tagged.get("_error_code"):
            tally.untagged.append(f"{symbol}: {tagged!r}"[:200])
    elif not is_real_data(symbol, result.data):
        tally.garbage_served.append(f"{symbol} via {result.source}: {result.data!r}"[:300])
    return str(result.source)


class CacheOracle:
    """What the cache allows for a symbol during a request that starts now."""

    def __init__(self, cache: MemoryCache, clock: Callable[[], float]) -> None:
        self.cache = cache
        self.clock = clock

    def verdicts(self, symbols: list[str]) -> dict[str, bool | None]:
        """True: an entry stays younger than max_stale_age for the whole request (it must be
        served if nothing live answers); False: none, or already too old (only a live answer
        can help); None: it ages out during the request (either is right)."""
        now = self.clock()
        entries = self.cache.get_many(symbols)
        out: dict[str, bool | None] = {}
        for symbol in symbols:
            entry = entries.get(symbol)
            if entry is None or now - entry.fetched_at >= MAX_STALE_AGE_S:
                out[symbol] = False
            elif now - entry.fetched_at + DEADLINE_S + SLACK_S < MAX_STALE_AGE_S:
                out[symbol] = True
            else:
                out[symbol] = None
        return out


def stats_mismatches(stats: dict[str, Any], tally: Tally,
                     providers: tuple[ChaosProvider, ...]) -> list[str]:
    """Where get_reliability_stats() does not add up exactly to what was asked and answered."""
    wrong = []
    counts = {k: v for k, v in stats["counts"].items() if v}
    if stats["total_requests"] != tally.requests or sum(counts.values()) != tally.requests:
        wrong.append(f"total {stats['total_requests']} / {sum(counts.values())}, "
                     f"made {tally.requests}")
    if counts != {k: v for k, v in tally.sources.items() if v}:
        wrong.append(f"counts {counts} != answers {dict(tally.sources)}")
    for provider in providers:
        counted = stats["providers"].get(provider.name, {"calls": 0, "successes": 0})
        if (counted["calls"], counted["successes"]) != (provider.lookups, provider.good):
            wrong.append(f"{provider.name}: calls/successes {counted['calls']}/"
                         f"{counted['successes']}, made {provider.lookups}/{provider.good}")
    return wrong


def chaos_facade(primary: ChaosProvider, secondary: ChaosProvider, clock: FakeClock,
                 cache: MemoryCache, *, read_through: bool, paced: bool) -> ResilientProvider:
    settings = fast_settings(
        upstreams={"chaos": {"enabled": paced}},
        deadline_s=DEADLINE_S,
        provider_defaults={"timeout_s": 0.03, "retry": {"max_retry_after_s": 30}},
        cache={"backend": "memory", "fresh_for": FRESH_FOR_S, "max_stale_age": MAX_STALE_AGE_S,
               "read_through": read_through},
    )
    return ResilientProvider([primary, secondary], cache=cache, settings=settings, clock=clock)


def run_scripted_cell(primary_rate: float, secondary_rate: float, *, seed: int,
                      requests: int, read_through: bool, storm: bool = False,
                      ) -> tuple[Tally, int]:
    """One cell of the matrix: ``requests`` symbol requests; returns the tally and faults.

    ``storm``: the faults are 429s (with and without Retry-After) and both providers share
    one paced upstream, which cools down on them."""
    rng = random.Random(f"chaos:{seed}")
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    for symbol in UNIVERSE:  # partly warm: fresh, stale, too old, or no entry
        if rng.random() < 0.75:
            cache.set(symbol, good_info(symbol), fetched_at=clock() - rng.uniform(0, 900),
                      provider="warm")
    kinds = STORM_FAULTS if storm else None
    upstream = "chaos" if storm else None
    primary = ChaosProvider("primary", primary_rate, seed=seed, kinds=kinds, upstream=upstream)
    secondary = ChaosProvider("secondary", secondary_rate, seed=seed, kinds=kinds,
                              upstream=upstream)
    oracle = CacheOracle(cache, clock)
    always_failing = primary_rate == 1.0 and secondary_rate == 1.0
    tally = Tally()
    facade = chaos_facade(primary, secondary, clock, cache, read_through=read_through,
                          paced=storm)
    try:
        while tally.requests < requests:
            clock.advance(rng.uniform(0, 4))
            batch = rng.random() < 0.3
            symbols = rng.sample(UNIVERSE, rng.randint(2, 8)) if batch else [rng.choice(UNIVERSE)]
            verdicts = oracle.verdicts(symbols)
            started, started_real = clock(), time.monotonic()
            results: dict[str, object] = {}
            try:
                if batch:
                    results = dict(facade.batch_fetch(symbols, progress=False))
                else:
                    results = {symbols[0]: facade.fetch(symbols[0])}
            except Exception as exc:  # noqa: BLE001 - counting what escapes is the point
                tally.escaped.append(f"{symbols}: {type(exc).__name__}: {exc}"[:300])
            took_s, took_real_s = clock() - started, time.monotonic() - started_real
            tally.max_call_s = max(tally.max_call_s, took_s, took_real_s)
            # A batch's chunks each walk within their own deadline_s (README), two at a time
            # when paced, and a symbol our pacing refused before sending goes back in line up
            # to MAX_REQUEUES times: on the shared fake clock their waits add up, so a batch
            # may take that many deadlines per symbol there; a single request, one deadline.
            walks = 1 if len(symbols) == 1 else len(symbols) * (1 + MAX_REQUEUES)
            if took_real_s > DEADLINE_S + SLACK_S or took_s > walks * (DEADLINE_S + SLACK_S):
                tally.late.append(f"{symbols}: {took_s:.2f}s ({took_real_s:.2f}s real)")
            tally.requests += len(symbols)
            for symbol in symbols:
                source = check_result(symbol, results.get(symbol), tally)
                tally.sources[source] += 1
                if verdicts[symbol] is True and source == "error":
                    tally.lost_despite_cache.append(f"{symbol}: {results[symbol]!r}"[:300])
                if verdicts[symbol] is False and (
                        source in ("cache_fresh", "cache_stale")
                        or (always_failing and source != "error")):
                    tally.served_without_cache.append(f"{symbol}: {source}")
        stats = facade.get_reliability_stats()
    finally:
        facade.close()
        primary.close()
        secondary.close()
    tally.stats_mismatches.extend(stats_mismatches(stats, tally, (primary, secondary)))
    return tally, sum(primary.faults.values()) + sum(secondary.faults.values())


CELLS = [(p, s, False) for p in (0.1, 0.5, 1.0) for s in (0.0, 0.2, 1.0)]
#: 429 storms over one paced upstream: both refused, or the primary alone.
STORM_CELLS = [(1.0, 1.0, True), (0.9, 0.2, True), (0.5, 0.5, True)]


def test_scripted_chaos_matrix_never_reaches_the_analysis() -> None:
    per_cell = scale(250, 1000)
    started = time.monotonic()
    total, faults = Tally(), 0
    for index, (primary_rate, secondary_rate, storm) in enumerate(CELLS + STORM_CELLS):
        tally, cell_faults = run_scripted_cell(primary_rate, secondary_rate, seed=index,
                                               requests=per_cell, read_through=index % 2 == 1,
                                               storm=storm)
        total.merge(tally)
        faults += cell_faults
    report("scripted_chaos_matrix", requests=total.requests, faults=faults,
           seconds=round(time.monotonic() - started, 1), cells=len(CELLS) + len(STORM_CELLS),
           sources=dict(total.sources), max_call_s=round(total.max_call_s, 3))
    assert total.escaped == []
    assert total.untagged == []
    assert total.late == []
    assert total.garbage_served == []
    assert total.lost_despite_cache == []
    assert total.served_without_cache == []
    assert total.stats_mismatches == []
    assert total.requests >= per_cell * (len(CELLS) + len(STORM_CELLS))
    assert faults > 0 and total.sources["error"] > 0 and total.sources["cache_stale"] > 0


@pytest.mark.parametrize("kind", ["nan_price", "negative_price", "inf_price"])
def test_one_bad_price_field_is_garbage_even_beside_a_good_one(kind: str) -> None:
    """An answer whose regularMarketPrice is NaN or negative (or currentPrice infinite) is
    garbage even when the other price field is positive: it falls over, never served."""
    from resilient_provider.testing import ScriptedProvider

    from .chaos_providers import _garbage

    clock = FakeClock()
    primary = ScriptedProvider("primary", {"AAPL": _garbage("AAPL", kind)})
    secondary = ScriptedProvider("secondary")
    facade = ResilientProvider([primary, secondary], cache=MemoryCache(clock=clock),
                               settings=fast_settings(), clock=clock)
    try:
        result = facade.fetch("AAPL")
    finally:
        facade.close()
    assert result.source is DataSource.FALLBACK
    assert result.data is not None and is_real_data("AAPL", result.data)


def test_a_call_waiting_for_a_cooling_upstream_keeps_to_the_deadline() -> None:
    """A provider that declares an upstream but whose HTTP requests the budget does not see
    (a third-party one) takes one permit per call: that wait ends with the request's deadline,
    however long the upstream cools down after a 429 with Retry-After."""
    from resilient_provider.errors import RateLimitError
    from resilient_provider.testing import ScriptedProvider

    clock = FakeClock()
    primary = ScriptedProvider("primary", {"AAPL": RateLimitError("HTTP 429", retry_after=120)})
    setattr(primary, "upstream", "chaos")  # noqa: B010 - the optional protocol attribute
    facade = ResilientProvider([primary], cache=MemoryCache(clock=clock), clock=clock,
                               settings=fast_settings(upstreams={"chaos": {"enabled": True}},
                                                      deadline_s=DEADLINE_S))
    try:
        facade.fetch("AAPL")
        started = clock()
        result = facade.fetch("MSFT")
        took_s = clock() - started
    finally:
        facade.close()
    assert took_s <= DEADLINE_S + SLACK_S
    assert result.source is DataSource.ERROR
    assert result.error is not None and result.error.code == "upstream_cooling"


# --- the real adapters over the fake Yahoo -----------------------------------------------------

#: 160 equity-shaped symbols: enough that the storms meet symbols nothing has cached yet.
YAHOO_UNIVERSE = [f"Q{a}{b}" for a in "ABCDEFGH" for b in "KLMNPRSTUVWXYZBCDEFG"]
YAHOO_DEADLINE_S = 3.0


def yahoo_chaos_config(directory: Path, base_url: str, *, paced: bool = False) -> Settings:
    path = directory / "config.yaml"
    upstream = "{enabled: true, remember_rate: false}" if paced else UNPACED_YAHOO
    path.write_text(f"""
providers:
  - {{name: yfinance, options: {{base_url: "{base_url}"}}}}
  - {{name: yahooquery, options: {{base_url: "{base_url}"}}}}
provider_defaults: {{timeout_s: 0.5, rate_limit_per_s: 0, retry: {{max_attempts: 1}},
                    breaker: {{failure_threshold: 20, window_s: 5, reset_timeout_s: 1}}}}
upstreams: {{yahoo: {upstream}}}
deadline_s: {YAHOO_DEADLINE_S}
cache: {{backend: memory, fresh_for: {FRESH_FOR_S}, max_stale_age: {MAX_STALE_AGE_S}}}
""")
    return Settings.from_yaml(path)


def inject_mixed_faults(server: FakeYahooServer, share: float) -> list[FaultRule]:
    """Every kind of fault on the data routes, ``share`` of the requests in all."""
    faults = [Fault.rate_limited(), Fault.rate_limited(1), Fault.server_error(502),
              Fault.malformed_json(), Fault.connection_reset(), Fault.invalid_crumb(),
              Fault.slow(1.0), Fault.hang(),
              *(Fault.garbage(mode) for mode in GARBAGE_MODES)]
    each = share / len(faults)
    return [server.inject(f, route=("quoteSummary", "quote"), probability=each / (1 - i * each))
            for i, f in enumerate(faults)]


def true_yahoo_data(server: FakeYahooServer, symbol: str, data: dict[str, Any] | None) -> bool:
    """Whether ``data`` is the fake Yahoo's true answer for ``symbol`` (its price, its symbol)."""
    quote = server.bodies.quote(symbol)
    truth = quote["regularMarketPrice"] if quote else None
    return (isinstance(data, dict) and data.get("symbol") == symbol
            and data.get("regularMarketPrice") == truth
            and all(data.get(f) in (None, truth) for f in PRICE_FIELDS))


@pytest.mark.parametrize("paced", [False, True], ids=["unpaced", "paced"])
def test_real_adapters_over_a_faulty_fake_yahoo_never_reach_the_analysis(
        tmp_path: Path, paced: bool) -> None:
    """Unpaced: 429s count against the breakers. Paced (the default configuration): every
    HTTP request of both libraries goes through the Yahoo budget, which cools down on 429s."""
    requests_wanted = scale(60, 150) if paced else scale(160, 1200)
    rng = random.Random(f"yahoo-chaos:{paced}")
    started_all = time.monotonic()
    tally = Tally()
    phases = ["mixed", "yfinance blocked", "429 storm with Retry-After", "429 storm"]
    with FakeYahooServer(seed=11, hang_limit_s=5) as server:
        cache = MemoryCache()
        for symbol in YAHOO_UNIVERSE:
            quote = server.bodies.quote(symbol)
            if quote and rng.random() < 0.5:
                cache.set(symbol, make_info(symbol, price=quote["regularMarketPrice"]),
                          fetched_at=time.time() - rng.uniform(0, 900), provider="warm")
        oracle = CacheOracle(cache, time.time)
        facade = ResilientProvider(cache=cache, settings=yahoo_chaos_config(
            tmp_path, server.base_url, paced=paced))
        try:
            for phase_index, phase in enumerate(phases):
                server.clear_faults()
                if phase == "mixed":
                    inject_mixed_faults(server, 0.15)
                elif phase == "yfinance blocked":
                    server.block_library("yfinance")
                    inject_mixed_faults(server, 0.1)
                else:
                    server.inject(Fault.rate_limited(1 if "Retry-After" in phase else None),
                                  route=("crumb", "quoteSummary", "quote", "timeseries"),
                                  probability=0.95)
                while tally.requests < requests_wanted * (phase_index + 1) // len(phases):
                    batch = rng.random() < 0.3
                    symbols = (rng.sample(YAHOO_UNIVERSE, rng.randint(2, 6)) if batch
                               else [rng.choice(YAHOO_UNIVERSE)])
                    verdicts = oracle.verdicts(symbols)
                    started = time.monotonic()
                    results: dict[str, object] = {}
                    try:
                        results = (dict(facade.batch_fetch(symbols, progress=False)) if batch
                                   else {symbols[0]: facade.fetch(symbols[0])})
                    except Exception as exc:  # noqa: BLE001 - counting what escapes
                        tally.escaped.append(f"{symbols}: {type(exc).__name__}: {exc}"[:300])
                    took_s = time.monotonic() - started
                    tally.max_call_s = max(tally.max_call_s, took_s)
                    # Paced, a batch's chunks run one or two at a time, each within its own
                    # deadline, and a symbol never sent goes back in line (see test above).
                    walks = len(symbols) * (1 + MAX_REQUEUES) if paced and batch else 1
                    if took_s > walks * (YAHOO_DEADLINE_S + SLACK_S):
                        tally.late.append(f"{phase}: {symbols}: {took_s:.2f}s")
                    tally.requests += len(symbols)
                    for symbol in symbols:
                        result = results.get(symbol)
                        source = check_result(symbol, result, tally) if isinstance(
                            result, FetchResult) and result.source is DataSource.ERROR \
                            else str(getattr(result, "source", "untagged"))
                        if isinstance(result, FetchResult) and result.data is not None \
                                and not true_yahoo_data(server, symbol, result.data):
                            tally.garbage_served.append(f"{symbol}: {result.data!r}"[:300])
                        tally.sources[source] += 1
                        if verdicts[symbol] is True and source == "error":
                            tally.lost_despite_cache.append(f"{phase}: {symbol}: "
                                                            f"{results[symbol]!r}"[:400])
                        if verdicts[symbol] is False and source in (
                                "cache_fresh", "cache_stale"):
                            tally.served_without_cache.append(f"{symbol}: {source}")
            stats = facade.get_reliability_stats()
        finally:
            facade.close()
        faults = sum(1 for r in server.requests if r.fault)
        http_requests = len(server.requests)
    report(f"real_adapters_over_faulty_fake_yahoo[{'paced' if paced else 'unpaced'}]",
           requests=tally.requests,
           http_requests=http_requests, faults=faults,
           seconds=round(time.monotonic() - started_all, 1), sources=dict(tally.sources),
           max_call_s=round(tally.max_call_s, 3))
    assert tally.escaped == []
    assert tally.untagged == []
    assert tally.late == []
    assert tally.garbage_served == []
    assert tally.lost_despite_cache == []
    assert tally.served_without_cache == []
    counts = {k: v for k, v in stats["counts"].items() if v}
    assert stats["total_requests"] == tally.requests == sum(counts.values())
    assert counts == {k: v for k, v in tally.sources.items() if v}
    assert faults > 0 and tally.sources["error"] > 0


@pytest.mark.parametrize("mode", GARBAGE_MODES)
def test_yahoo_garbage_is_never_served_as_data(mode: str, tmp_path: Path) -> None:
    """Garbage on every data request, through both real adapters: an error, never data."""
    with FakeYahooServer(seed=11) as server:
        server.inject(Fault.garbage(mode), route=("quoteSummary", "quote"))
        facade = ResilientProvider(cache=MemoryCache(),
                                   settings=yahoo_chaos_config(tmp_path, server.base_url))
        try:
            results = facade.batch_fetch(YAHOO_UNIVERSE[:4], progress=False)
            single = facade.fetch(YAHOO_UNIVERSE[5])
        finally:
            facade.close()
    for symbol, result in [*results.items(), (YAHOO_UNIVERSE[5], single)]:
        assert result.data is None or true_yahoo_data(server, symbol, result.data), (
            symbol, result.data)
