"""resilient-provider: market data for tickers that never lets a flaky source break a run.

>>> from resilient_provider import ResilientProvider
>>> with ResilientProvider() as provider:                       # doctest: +SKIP
...     info = provider.get_ticker_info("AAPL")
...     info["regularMarketPrice"], info["_data_source"]
"""

import logging
from importlib import metadata as _metadata

from .config import Settings
from .errors import (
    ConfigError,
    DataContractError,
    InvalidSymbolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    ResilientProviderError,
    SymbolNotFoundError,
)
from .facade import ResilientProvider
from .health import CheckResult, HealthReport, check_health
from .logs import configure_logging
from .result import Attempt, DataSource, FetchResult
from .stats import ReliabilityReport
from .symbols import normalize_symbol

try:
    __version__ = _metadata.version("resilient-provider")  # the one version, from pyproject.toml
except _metadata.PackageNotFoundError:
    # Imported from a source tree that was never installed, so there is no metadata to read;
    # say the version is unknown rather than repeat (and one day contradict) pyproject.toml.
    __version__ = "0+unknown"

# A library leaves handlers to the application; this keeps Python's last-resort handler quiet.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Attempt",
    "CheckResult",
    "ConfigError",
    "DataContractError",
    "DataSource",
    "FetchResult",
    "HealthReport",
    "InvalidSymbolError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RateLimitError",
    "ReliabilityReport",
    "ResilientProvider",
    "ResilientProviderError",
    "Settings",
    "SymbolNotFoundError",
    "__version__",
    "check_health",
    "configure_logging",
    "normalize_symbol",
]
