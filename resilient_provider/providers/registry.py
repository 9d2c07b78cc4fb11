"""Finding providers by the names ``config.yaml`` lists.

Built-in adapters are known by name; third-party providers register a factory under the
entry-point group :data:`ENTRY_POINT_GROUP` (``name = "package.module:Factory"``), called with the
provider entry's ``options`` as keyword arguments.

A *known* provider whose code cannot be imported (its library is not installed) becomes a
:class:`MissingProvider` that answers every call with :class:`ProviderNotInstalledError`, so a
default configuration still runs (on cache and the other providers) and says why; an *unknown*
name is a configuration error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

from ..config import ProviderSettings
from ..errors import ConfigError, ProviderNotInstalledError
from .protocol import InfoOrError, Provider

ENTRY_POINT_GROUP = "resilient_provider.providers"

#: Built-in adapters: name -> "module:attribute".
BUILTIN_PROVIDERS: dict[str, str] = {
    "yfinance": "resilient_provider.providers.yfinance:YFinanceProvider",
    "yahooquery": "resilient_provider.providers.yahooquery:YahooQueryProvider",
}


class MissingProvider:
    """Stands in for a configured provider whose code cannot be imported here."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        """Answer every symbol with :class:`ProviderNotInstalledError`."""
        error = ProviderNotInstalledError(f"not installed ({self.reason})", provider=self.name)
        return dict.fromkeys(symbols, error)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"MissingProvider({self.name!r})"


def _factory_target(name: str) -> str | None:
    if name in BUILTIN_PROVIDERS:
        return BUILTIN_PROVIDERS[name]
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            return str(entry_point.value)
    return None


def create_provider(entry: ProviderSettings, *, timeout_s: float | None = None) -> Provider:
    """Build the provider that ``entry`` names, with ``entry.options`` as keyword arguments.

    ``timeout_s`` (the provider's policy timeout) becomes a built-in adapter's HTTP timeout
    unless its options set one, so a request never outlives the call that is waiting for it.
    """
    target = _factory_target(entry.name)
    if target is None:
        plugins = (e.name for e in entry_points(group=ENTRY_POINT_GROUP))
        known = sorted({*BUILTIN_PROVIDERS, *plugins})
        raise ConfigError(f"providers: unknown provider {entry.name!r}; known: {', '.join(known)}")
    module_name, _, attribute = target.partition(":")
    try:
        factory: Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        return MissingProvider(entry.name, f"{type(exc).__name__}: {exc}")
    options = dict(entry.options)
    if timeout_s is not None and entry.name in BUILTIN_PROVIDERS:
        options.setdefault("timeout_s", timeout_s)
    try:
        provider: Provider = factory(**options)
    except (TypeError, ValueError) as exc:  # an unknown option, or a value the adapter refuses
        raise ConfigError(f"providers[{entry.name}].options: {exc}") from exc
    return provider
