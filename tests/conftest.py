"""Shared fixtures: a fake clock, fast settings and a façade over scripted providers."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from resilient_provider import ResilientProvider, Settings
from resilient_provider.cache import MemoryCache
from resilient_provider.testing import FakeClock, ScriptedProvider

# Property tests check behaviour, not speed: hypothesis's per-example deadline (200 ms) would
# only make a cold first run (imports, bytecode compilation) fail at random.
hypothesis_settings.register_profile("resilient-provider", deadline=None)
hypothesis_settings.load_profile("resilient-provider")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's RESILIENT_PROVIDER_* variables or writes their cache or
    state directories."""
    import os

    for key in list(os.environ):
        if key.startswith("RESILIENT_PROVIDER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    # The statistics store's default is the user's state directory: a temporary one here.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


_INTERNET_ATTEMPTS: list[str] = []


@pytest.fixture(autouse=True, scope="session")
def _no_internet() -> Iterator[None]:
    """Refuse any HTTP request that would leave the machine, whichever library sends it.

    Both Yahoo libraries send through curl_cffi (yahooquery's cookie set-up through requests);
    the routing session rewrites Yahoo URLs before they get here, so only loopback passes. The
    adapters turn the refusal into an error answer, so each attempt is also recorded and fails
    the test that made it (see ``_fail_on_internet_attempts``).
    """
    from urllib.parse import urlsplit

    import requests
    from curl_cffi.requests import Session as CurlSession

    def guard(original: Any) -> Any:
        def request(self: Any, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            host = urlsplit(str(url)).hostname or ""
            if host not in ("127.0.0.1", "localhost", "::1"):
                _INTERNET_ATTEMPTS.append(f"{method} {url}")
                raise RuntimeError(f"a test tried to reach the internet: {method} {url}")
            return original(self, method, url, *args, **kwargs)
        return request

    patches = [(CurlSession, CurlSession.request), (requests.Session, requests.Session.request)]
    for cls, original in patches:
        setattr(cls, "request", guard(original))  # noqa: B010 - two classes, one patch
    yield
    for cls, original in patches:
        setattr(cls, "request", original)  # noqa: B010


@pytest.fixture(autouse=True)
def _fail_on_internet_attempts() -> Iterator[None]:
    yield
    attempts, _INTERNET_ATTEMPTS[:] = list(_INTERNET_ATTEMPTS), []
    if attempts:
        pytest.fail(f"the test tried to reach the internet: {attempts}")


@pytest.fixture(autouse=True, scope="session")
def _yfinance_caches_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """yfinance keeps cookie/timezone caches (SQLite) in the user's cache dir, chosen at import
    time: point them at a temporary directory so tests never write into the developer's."""
    import yfinance

    yfinance.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


#: The Yahoo upstream of tests that are not about its budget: none (requests unpaced, 429s count
#: against breakers, as before there was one); the tests of the budget turn it on.
UNPACED_YAHOO = "{enabled: false}"


def write_fake_yahoo_config(directory: Path, base_url: str, *, timeout_s: float = 2) -> str:
    """A config.yaml in ``directory`` sending both built-in adapters to one fake Yahoo at
    ``base_url``: one attempt, no rate limit or pacing, a memory cache. Returns its path."""
    path = directory / "config.yaml"
    path.write_text(f"""
providers:
  - {{name: yfinance, options: {{base_url: "{base_url}"}}}}
  - {{name: yahooquery, options: {{base_url: "{base_url}"}}}}
provider_defaults: {{timeout_s: {timeout_s}, rate_limit_per_s: 0, retry: {{max_attempts: 1}}}}
upstreams: {{yahoo: {UNPACED_YAHOO}}}
cache: {{backend: memory}}
""")
    return str(path)


def fast_settings(**overrides: Any) -> Settings:
    """Settings for tests: no jitter, short timeouts, memory cache, no configured providers,
    no client-side rate limit or upstream pacing (tests of those set their own)."""
    base: dict[str, Any] = {
        "providers": [],
        "deadline_s": 5,
        "provider_defaults": {
            "timeout_s": 1,
            "rate_limit_per_s": 0,
            "retry": {"max_attempts": 3, "base_delay_s": 0.5, "multiplier": 2,
                      "max_delay_s": 8, "jitter": 0, "max_retry_after_s": 30},
            "breaker": {"failure_threshold": 3, "window_s": 60, "reset_timeout_s": 30,
                        "success_threshold": 2, "half_open_max_calls": 1},
        },
        "cache": {"backend": "memory"},
        "upstreams": {"yahoo": {"enabled": False}},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = value
    return Settings(**base)


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


MakeFacade = Callable[..., ResilientProvider]


@pytest.fixture
def make_facade(clock: FakeClock) -> Iterator[MakeFacade]:
    """Build façades over the given providers with a memory cache and the fake clock."""
    made: list[tuple[ResilientProvider, Sequence[ScriptedProvider]]] = []

    def make(*providers: ScriptedProvider, cache: MemoryCache | None = None, **settings: Any) -> ResilientProvider:
        if "cache_settings" in settings:  # `cache=` is the backend here
            settings["cache"] = settings.pop("cache_settings")
        facade = ResilientProvider(list(providers), cache=cache if cache is not None else MemoryCache(clock=clock),
                                   settings=fast_settings(**settings), clock=clock)
        made.append((facade, providers))
        return facade

    yield make
    for facade, providers in made:
        facade.close()
        for p in providers:
            p.close()  # releases hung calls


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="resilient_provider")
    return caplog


def mode_of(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000, 0o277], ids=["umask-022", "umask-000", "umask-277"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process umask during the test (restored after)."""
    old = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(old)
