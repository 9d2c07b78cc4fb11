"""Data sources, one adapter per source, all behind the :class:`Provider` protocol.

The adapters :class:`YFinanceProvider` and :class:`YahooQueryProvider` are imported on first
access (PEP 562): yfinance and yahooquery take seconds to import, and neither
``import resilient_provider`` nor ``import resilient_provider.providers`` should pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .canonical import CORE_FIELDS
from .protocol import HistoryProvider, InfoOrError, Provider

if TYPE_CHECKING:
    from .yahooquery import YahooQueryProvider
    from .yfinance import YFinanceProvider

__all__ = ["CORE_FIELDS", "HistoryProvider", "InfoOrError", "Provider", "YFinanceProvider",
           "YahooQueryProvider"]

#: The lazily imported adapters: attribute name -> the submodule that defines it.
_LAZY_ADAPTERS = {"YFinanceProvider": ".yfinance", "YahooQueryProvider": ".yahooquery"}


def _import_adapter(name: str) -> object:
    """Import the adapter ``name`` from its submodule and keep it, so this runs once per name."""
    submodule = _LAZY_ADAPTERS.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    adapter: object = getattr(importlib.import_module(submodule, __name__), name)
    globals()[name] = adapter
    return adapter


if not TYPE_CHECKING:
    # Hidden from mypy: a module-level __getattr__ would make it accept any name imported from
    # here (`from .providers import Typo`); it reads the adapters' types from the imports above.
    __getattr__ = _import_adapter


def __dir__() -> list[str]:
    """The module's names, including the adapters not imported yet."""
    return sorted({*globals(), *__all__})
