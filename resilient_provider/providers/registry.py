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

import difflib
import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

from ..config import ProviderSettings
from ..errors import ConfigError, ProviderNotInstalledError
from ..redaction import safe_repr
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
    check_options(entry.name, factory, options)
    try:
        provider: Provider = factory(**options)
    except (TypeError, ValueError) as exc:  # an unknown option, or a value the adapter refuses
        raise ConfigError(f"providers[{entry.name}].options: {exc}") from exc
    return provider


_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def check_options(name: str, factory: Callable[..., Any], options: Mapping[str, Any]) -> None:
    """Raise ConfigError unless ``factory`` (a provider class or function) takes ``options``
    as keyword arguments: each unknown option is named with the closest allowed one, and the
    allowed ones are listed; a required one that is missing is named too.

    Read from ``inspect.signature``, so the check cannot disagree with the code; a factory
    taking ``**kwargs``, or whose signature cannot be read, is not checked here.
    """
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):  # a builtin or C callable without a readable signature
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    allowed = [p.name for p in parameters if p.kind in _BY_NAME]
    where = f"providers[{name}].options"
    unknown = [str(key) for key in options if key not in allowed]
    if unknown:
        named = ", ".join(_with_hint(key, allowed) for key in unknown)
        raise ConfigError(f"{where}: unknown option{'s' if len(unknown) > 1 else ''} {named} "
                          f"for provider {name!r}; allowed: {', '.join(allowed) or 'none'}")
    missing = [p.name for p in parameters
               if p.default is inspect.Parameter.empty and p.name not in options
               and p.kind is not inspect.Parameter.VAR_POSITIONAL]
    if missing:
        raise ConfigError(f"{where}: provider {name!r} needs the option"
                          f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}")


def _with_hint(key: str, allowed: Sequence[str]) -> str:
    """``'max_worker' (did you mean 'max_workers'?)``: the key and the closest allowed name."""
    close = difflib.get_close_matches(key[:100], allowed, n=1)
    return safe_repr(key) + (f" (did you mean {close[0]!r}?)" if close else "")
