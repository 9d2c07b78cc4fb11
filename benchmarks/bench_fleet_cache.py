"""Issue 16, acceptance item 8: a warm 500-symbol read-through batch via RedisCache against the
same via DiskCache (target: at most 2x).

Both sides are the same façade (``batch_get_ticker_info`` with ``read_through``, every answer a
fresh cache hit, tagged dicts) over the same entries, filled for real from a fake Yahoo; only
the cache differs: diskcache in a temporary directory, or a :class:`RedisCache` on a private
``redis-server`` over TCP on 127.0.0.1 (a unix socket would flatter Redis; a Redis on another
host adds its network round trips: two per batch, the entries' ``MGET`` and the negative
cache's). A third, reference figure is the tier (``shared.cache: tier``, the default), whose
warm reads stay local.

The server is started here (:mod:`.redis_server`: a free port, no persistence) and stopped
afterwards; the benchmark never touches another Redis. Without ``redis-server`` or the
``redis`` package it reports that instead of a figure.
"""

from __future__ import annotations

import statistics
import tempfile
from functools import partial
from pathlib import Path

from resilient_provider import ResilientProvider
from resilient_provider.cache import CacheBackend, DiskCache
from resilient_provider.config import SharedSettings

from .common import Figure, settings, timed
from .redis_server import missing, private_redis
from .servers import fake_yahoo

NAME = "warm read-through batch via RedisCache vs DiskCache"


def run(n: int = 500, repeats: int = 7) -> list[Figure]:
    if (why := missing()) is not None:
        return [_not_run(why)]
    from resilient_provider.shared.cache import RedisCache
    from resilient_provider.shared.link import RedisLink
    from resilient_provider.shared.tiered_cache import TieredCache

    symbols = [f"FC{i:03d}" for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp, fake_yahoo() as url, \
            private_redis(Path(tmp) / "redis") as server:
        root, redis_url = Path(tmp), server.url
        links = [RedisLink(SharedSettings.model_validate(
            {"enabled": True, "redis_url": redis_url, "key_prefix": f"bench-{name}",
             "connect_timeout_s": 1.0, "socket_timeout_s": 1.0})) for name in ("redis", "tier")]
        caches: dict[str, CacheBackend] = {
            "disk": DiskCache(root / "disk"),
            "redis": RedisCache(links[0]),
            "tier": TieredCache(DiskCache(root / "tier"), RedisCache(links[1]),
                                recheck_after_s=48 * 3600.0),
        }
        times: dict[str, list[float]] = {}
        for name, cache in caches.items():  # fill each for real, from the fake Yahoo
            with _facade(root / name, url, cache) as provider:
                filled = provider.batch_fetch(symbols)
                assert all(r.source.value == "primary" for r in filled.values()), name
        providers = {name: _facade(root / name, url, cache, read_through=True)
                     for name, cache in caches.items()}
        try:
            for name, provider in providers.items():
                _read_warm(provider, symbols)  # warm the code paths (and the page cache)
                times[name] = []
            for _ in range(repeats):
                for name, provider in providers.items():
                    times[name].append(timed(partial(_read_warm, provider, symbols)))
        finally:
            for provider in providers.values():
                provider.close()
            for cache in caches.values():
                cache.close()
            for link in links:
                link.close()
    disk_m, redis_m, tier_m = (statistics.median(times[k]) for k in ("disk", "redis", "tier"))
    return [
        Figure(f"{NAME}, {n} symbols", f"{redis_m * 1000:.1f} ms",
               f"{disk_m * 1000:.1f} ms (DiskCache)", redis_m / disk_m, "<= 2.0",
               redis_m / disk_m <= 2.0,
               f"median of {repeats} runs; batch_get_ticker_info with read_through, every "
               "answer fresh from the cache; Redis on 127.0.0.1 over TCP"),
        Figure(f"warm read-through batch via the tier (disk over Redis), {n} symbols",
               f"{tier_m * 1000:.1f} ms", f"{disk_m * 1000:.1f} ms (DiskCache)",
               tier_m / disk_m, "(reference)", None,
               "shared.cache: tier; warm reads are local hits, the negative cache also asks "
               "Redis"),
    ]


def _facade(directory: Path, url: str, cache: CacheBackend, *,
            read_through: bool = False) -> ResilientProvider:
    """A façade over ``cache`` (which it does not close) and the fake Yahoo at ``url``."""
    directory.mkdir(parents=True, exist_ok=True)
    built = settings(directory, primary_url=url,
                     cache={"backend": "disk", "path": str(directory / "unused"),
                            "read_through": read_through})
    return ResilientProvider(settings=built, cache=cache)


def _read_warm(provider: ResilientProvider, symbols: list[str]) -> None:
    answers = provider.batch_get_ticker_info(symbols, progress=False)
    assert all(a["_data_source"] == "cache_fresh" for a in answers.values())


def _not_run(why: str) -> Figure:
    return Figure(NAME, "not run", "", float("nan"), "<= 2.0", None, why)
