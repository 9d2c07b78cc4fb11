"""The public API is what the packages' ``__all__`` list: pinned here, name by name.

A name added to or dropped from an ``__all__`` fails this test, so a change to what users may
import is always a decision written down in a diff, never a side effect of a move.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

PUBLIC_API: dict[str, list[str]] = {
    "resilient_provider": [
        "Attempt", "CheckResult", "ConfigError", "DataContractError", "DataSource",
        "FetchResult", "HealthReport", "InvalidSymbolError", "ProviderTimeoutError",
        "ProviderUnavailableError", "RateLimitError", "ReliabilityReport", "ResilientProvider",
        "ResilientProviderError", "Settings", "SymbolNotFoundError", "__version__",
        "check_health", "configure_logging", "normalize_symbol",
    ],
    "resilient_provider.providers": [
        "CORE_FIELDS", "HistoryProvider", "InfoOrError", "Provider", "YFinanceProvider",
        "YahooQueryProvider",
    ],
    "resilient_provider.cache": [
        "CacheBackend", "CacheEntry", "DiskCache", "MemoryCache", "NotFoundEntry",
        "NotFoundStore", "cache_key", "open_cache",
    ],
    "resilient_provider.testing": [
        "FakeClock", "FakeYahooServer", "Fault", "Hang", "HistoryCall", "Raise",
        "ScriptedHistoryProvider", "ScriptedProvider", "YahooBodyGenerator",
        "YahooRoutingSession", "make_bars", "make_info",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC_API))
def test_all_lists_exactly_the_pinned_names(module: str) -> None:
    assert sorted(importlib.import_module(module).__all__) == sorted(PUBLIC_API[module])


@pytest.mark.parametrize(("module", "name"),
                         [(m, n) for m, names in sorted(PUBLIC_API.items()) for n in names])
def test_every_public_name_imports(module: str, name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {module} import {name}", namespace)  # the import statement a user writes
    assert namespace[name] is getattr(importlib.import_module(module), name)


def test_all_has_no_duplicates() -> None:
    for module in PUBLIC_API:
        listed = importlib.import_module(module).__all__
        assert len(listed) == len(set(listed)), module


@pytest.mark.parametrize(("module", "name"),
                         [(m, n) for m, names in sorted(PUBLIC_API.items()) for n in names])
def test_every_public_class_and_function_has_a_docstring(module: str, name: str) -> None:
    value = getattr(importlib.import_module(module), name)
    if inspect.isclass(value) or inspect.isfunction(value):
        assert (inspect.getdoc(value) or "").strip(), f"{module}.{name}"
