"""Health checks: one real request per configured provider, and a round trip through the cache.

:func:`check_health` probes every provider of the chain with one ``fetch_info`` call for
``health.probe_symbol`` (default SPY) and judges the answer by the data contract, and writes,
reads back and deletes a probe entry in the cache backend — all at once, each within
``health.timeout_s``. A check that overruns is abandoned on its thread (like a provider call in
the cascade), so a hung provider can never hang the check. No breaker, retry or cache is
applied around a probe: the point is to see each source as it is now.

``resilient-provider health`` prints the :class:`HealthReport` (as a table drawn by
``cli.render``, or JSON) and exits 0 when every check is up, 1 when any is down.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

from .cache import CacheBackend, open_cache
from .cache.disabled import DisabledCache
from .config import Settings
from .errors import DataContractError, ProviderUnavailableError, ResilientProviderError
from .logs import correlation_scope, get_logger
from .providers.canonical import PRICE_FIELDS, is_positive_number
from .providers.protocol import Provider
from .providers.registry import create_provider
from .redaction import redact
from .strategy.contract import check_info
from .strategy.timeouts import CallRunner
from .threads import DaemonThreadPool

log = get_logger(__name__)

#: The symbol of the cache probe entry: valid, and never a real ticker's entry.
CACHE_PROBE_SYMBOL = "RP-HEALTH-PROBE"

#: Error codes of checks that are not a provider's own error.
TIMEOUT_CODE = "timeout"
CACHE_ERROR_CODE = "cache_error"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check: a provider probe or the cache round trip.

    ``detail`` says what was seen (``SPY 512.34 USD``) or what went wrong; ``error_code`` is
    the error's code (``rate_limited``, ``timeout``, ``cache_error``, …) when down.
    """

    name: str
    kind: Literal["provider", "cache", "redis"]
    up: bool
    latency_ms: float
    detail: str
    error_code: str | None = None

    @property
    def status(self) -> str:
        """``"up"`` or ``"down"``."""
        return "up" if self.up else "down"

    def to_dict(self) -> dict[str, Any]:
        """The check as JSON-ready values."""
        return {"name": self.name, "kind": self.kind, "status": self.status,
                "latency_ms": round(self.latency_ms, 1), "detail": self.detail,
                "error_code": self.error_code}


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check, providers in chain order, then the cache, then Redis (fleet mode)."""

    checks: tuple[CheckResult, ...]
    probe_symbol: str
    checked_at: float

    @property
    def up(self) -> bool:
        """True when every check is up."""
        return all(check.up for check in self.checks)

    @property
    def status(self) -> str:
        """``"up"`` when every check is up, else ``"down"``."""
        return "up" if self.up else "down"

    def to_dict(self) -> dict[str, Any]:
        """The overall status, probe symbol, time (ISO 8601, UTC) and every check."""
        return {"status": self.status, "probe_symbol": self.probe_symbol,
                "checked_at": datetime.fromtimestamp(self.checked_at, UTC).isoformat(),
                "checks": [check.to_dict() for check in self.checks]}


def check_health(settings: Settings | None = None, *,
                 providers: Sequence[Provider] | None = None,
                 cache: CacheBackend | None = None,
                 clock: Callable[[], float] | None = None) -> HealthReport:
    """Probe every provider and the cache concurrently, each within ``health.timeout_s``.

    Args:
        settings: validated settings; default: :class:`Settings` with env overrides.
        providers: the providers to probe; default: built from ``settings.providers`` (and
            closed afterwards). Given ones are left open.
        cache: the backend to check; default: built from ``settings.cache`` as the façade
            builds it (and closed afterwards).
        clock: epoch seconds, for the probe entry's ``fetched_at`` and the report's time.

    Raises:
        ConfigError: a configured provider is unknown or its options are wrong.
    """
    settings = settings if settings is not None else Settings()
    clock = clock if clock is not None else time.time
    timeout_s = settings.health.timeout_s
    owned: list[Provider] = []
    if providers is None:
        try:
            for entry in settings.providers:
                http_timeout_s = min(settings.policy_for(entry.name).timeout_s, timeout_s)
                owned.append(create_provider(entry, timeout_s=http_timeout_s))
        except BaseException:
            _close_all(owned)
            raise
        providers = owned
    symbol = settings.health.probe_symbol
    checks: list[tuple[str, Literal["provider", "cache", "redis"], Callable[[], CheckResult]]] = [
        *((str(p.name), "provider", partial(_probe_provider, p, symbol)) for p in providers),
        ("cache", "cache", partial(_check_cache, cache, settings, clock)),
    ]
    if settings.shared.enabled:
        checks.append(("redis", "redis", partial(_check_redis, settings)))
    runner = CallRunner(name="rp-health", max_idle=0)
    try:
        # Each worker waits at most timeout_s for its check: an overrunning check is left on
        # its (daemon) runner thread, so the pool always finishes in time.
        with DaemonThreadPool(len(checks), name="rp-health") as pool:
            futures = [pool.submit(_timed, runner, check, timeout_s, name, kind)
                       for name, kind, check in checks]
            results = tuple(future.result() for future in futures)
    finally:
        runner.close()
        _close_all(owned)
    return HealthReport(checks=results, probe_symbol=symbol, checked_at=clock())


def _timed(runner: CallRunner, check: Callable[[], CheckResult], timeout_s: float, name: str,
           kind: Literal["provider", "cache", "redis"]) -> CheckResult:
    """``check()`` on a runner thread, abandoned (and reported down) after ``timeout_s``."""
    started = time.perf_counter()
    try:
        with correlation_scope():  # the check's own log lines (an adapter's) share one id
            return runner.call(check, timeout_s)
    except TimeoutError:
        return CheckResult(name, kind, up=False, latency_ms=_ms_since(started),
                           detail=f"no answer within {timeout_s:g}s", error_code=TIMEOUT_CODE)


def _probe_provider(provider: Provider, symbol: str) -> CheckResult:
    """One ``fetch_info([symbol])`` call, judged by the data contract."""
    name = str(provider.name)
    started = time.perf_counter()
    try:
        answers = provider.fetch_info([symbol])
    except ResilientProviderError as exc:
        return _down(name, started, exc)
    except Exception as exc:  # noqa: BLE001 - the protocol: anything else means unavailable
        return _down(name, started, ProviderUnavailableError(
            f"{type(exc).__name__}: {exc}", provider=name))
    latency_ms = _ms_since(started)
    answer = answers.get(symbol) if isinstance(answers, Mapping) else DataContractError(
        f"fetch_info returned {type(answers).__name__}, not a mapping", provider=name)
    if answer is None:
        answer = DataContractError("no answer for the probe symbol", symbol=symbol,
                                   provider=name)
    if not isinstance(answer, ResilientProviderError):
        answer = check_info(symbol, answer, provider=name)
    if isinstance(answer, ResilientProviderError):
        return CheckResult(name, "provider", up=False, latency_ms=latency_ms,
                           detail=answer.message, error_code=answer.code)
    price = next(answer[f] for f in PRICE_FIELDS if is_positive_number(answer.get(f)))
    currency = answer.get("currency") or ""
    return CheckResult(name, "provider", up=True, latency_ms=latency_ms,
                       detail=f"{symbol} {price:g} {currency}".rstrip())


def _down(name: str, started: float, error: ResilientProviderError) -> CheckResult:
    return CheckResult(name, "provider", up=False, latency_ms=_ms_since(started),
                       detail=error.message, error_code=error.code)


def _check_cache(cache: CacheBackend | None, settings: Settings,
                 clock: Callable[[], float]) -> CheckResult:
    """Open the cache (unless given), write a probe entry, read it back, delete it."""
    started = time.perf_counter()
    stage = "open"
    backend = cache
    try:
        if backend is None:
            backend = open_cache(settings.cache, clock=clock)
        if isinstance(backend, DisabledCache):
            return CheckResult("cache", "cache", up=False, latency_ms=_ms_since(started),
                               detail=redact(f"open failed: {backend.reason}; the cache at "
                                             f"{backend.path} is off, runs go on without it"),
                               error_code=CACHE_ERROR_CODE)
        token = secrets.token_hex(8)
        stage = "write"
        # A price, so the probe is an entry the data contract would serve from the cache.
        backend.set(CACHE_PROBE_SYMBOL, {"symbol": CACHE_PROBE_SYMBOL, "probe": token,
                                         "regularMarketPrice": 1.0},
                    fetched_at=clock(), provider="health")
        stage = "read"
        entry = backend.get(CACHE_PROBE_SYMBOL)
        if entry is None or entry.data.get("probe") != token:
            raise LookupError("the entry just written was not read back")
        stage = "delete"
        if not backend.delete(CACHE_PROBE_SYMBOL):
            raise LookupError("the entry just written was gone before its delete")
    except Exception as exc:  # noqa: BLE001 - a backend may raise anything: that is the finding
        if stage == "read" and backend is not None:
            _forget_probe(backend)
        return CheckResult("cache", "cache", up=False, latency_ms=_ms_since(started),
                           detail=redact(f"{stage} failed: {type(exc).__name__}: {exc}"),
                           error_code=CACHE_ERROR_CODE)
    finally:
        if cache is None and backend is not None:
            _close_all([backend])
    return CheckResult("cache", "cache", up=True, latency_ms=_ms_since(started),
                       detail=f"{type(backend).__name__}: write, read back and delete ok")


def _check_redis(settings: Settings) -> CheckResult:
    """Fleet mode's Redis: a probe key written with a TTL, read back and deleted."""
    from .shared.link import RedisDown, RedisLink

    started = time.perf_counter()
    link = RedisLink(settings.shared)
    where = link.describe()
    try:
        key, token = link.key("health", secrets.token_hex(8)), secrets.token_hex(8)

        def round_trip(r: Any) -> str:
            r.set(key, token, px=60_000)
            read = r.get(key)
            r.delete(key)
            if read != token.encode():
                raise LookupError("the probe key just written was not read back")
            return str(r.info("server").get("redis_version", "?"))

        version = link.run("health probe", round_trip)
    except (RedisDown, LookupError) as exc:
        cause = exc.__cause__ or exc
        return CheckResult("redis", "redis", up=False, latency_ms=_ms_since(started),
                           detail=redact(f"{where}: {type(cause).__name__}: {cause}; workers "
                                         "run on local state meanwhile"),
                           error_code="redis_down")
    finally:
        link.close()
    return CheckResult("redis", "redis", up=True, latency_ms=_ms_since(started),
                       detail=f"{where}: Redis {version}, write, read back and delete ok")


def _forget_probe(backend: CacheBackend) -> None:
    """Best-effort removal of the probe entry after a failed read: leave nothing behind."""
    try:
        backend.delete(CACHE_PROBE_SYMBOL)
    except Exception as exc:  # noqa: BLE001 - the read failure is what gets reported
        log.debug("could not delete the cache probe entry: %s: %s", type(exc).__name__, exc)


def _close_all(parts: Sequence[Provider | CacheBackend]) -> None:
    for part in parts:
        try:
            part.close()
        except Exception as exc:  # noqa: BLE001 - closing one part must not stop the rest
            log.warning("closing %r failed: %s: %s", part, type(exc).__name__, exc)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0

