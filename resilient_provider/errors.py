"""The error taxonomy: one hierarchy rooted at :class:`ResilientProviderError`.

Every class carries a stable ``code`` (for statistics, logs and the tagged answer's
``_error_code``), a ``hint`` telling the user what to do, and two flags the strategy acts on:

* ``retriable`` — trying the same provider again may help (network, timeout, 5xx, rate limit,
  malformed data);
* ``counts_against_provider`` — the failure says something about the provider's health and is
  counted by its circuit breaker. A symbol that does not exist is the caller's problem, not the
  provider's, and a skip (circuit open, deadline spent) is no verdict on the provider at all.

Messages are redacted at construction, so an error can be logged or shown without leaking
credentials that a foreign exception carried in a URL.
"""

from __future__ import annotations

import copy
from typing import ClassVar, Self

from .redaction import redact

__all__ = [
    "AuthenticationError",
    "CircuitOpenError",
    "ConfigError",
    "DataContractError",
    "DeadlineExceededError",
    "InvalidSymbolError",
    "NetworkError",
    "OfflineNoCacheError",
    "ProviderError",
    "ProviderNotInstalledError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RateLimitError",
    "ResilientProviderError",
    "ServerError",
    "SymbolNotFoundError",
    "ThrottledError",
    "UpstreamCoolingError",
]


class ResilientProviderError(Exception):
    """Root of every error this library raises or reports."""

    code: ClassVar[str] = "error"
    hint: ClassVar[str] = ""
    retriable: ClassVar[bool] = False
    counts_against_provider: ClassVar[bool] = False

    def __init__(
        self, message: str, *, symbol: str | None = None, provider: str | None = None
    ) -> None:
        self.message = redact(str(message))
        self.symbol = symbol
        self.provider = provider
        super().__init__(self.message)

    def with_message(self, message: str) -> Self:
        """Return a copy of this error (same class, code and attributes) with another message."""
        clone = copy.copy(self)
        clone.message = redact(message)
        clone.args = (clone.message,)
        return clone

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


# --- provider failures -------------------------------------------------------------------------


class ProviderError(ResilientProviderError):
    """A provider could not answer for a symbol (base of every provider-side failure)."""

    code = "provider_error"


class ProviderUnavailableError(ProviderError):
    """The provider failed in a way that says it is unwell; another try may succeed."""

    code = "provider_unavailable"
    hint = "The source failed; the answer falls over to the next source. Check the stats."
    retriable = True
    counts_against_provider = True


class NetworkError(ProviderUnavailableError):
    """DNS, connection refused or reset: the provider could not be reached."""

    code = "network_error"
    hint = "Check network access to the data source."


class ServerError(ProviderUnavailableError):
    """The provider answered with a server error (HTTP 5xx)."""

    code = "server_error"
    hint = "The data source is failing on its side; retry later."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        symbol: str | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, symbol=symbol, provider=provider)
        self.status = status


class AuthenticationError(ProviderUnavailableError):
    """The provider refused our session (HTTP 401, Yahoo's "Invalid Crumb")."""

    code = "auth_failed"
    hint = "The session cookie or crumb was refused; it is renewed on the next try."


class ProviderTimeoutError(ProviderUnavailableError):
    """The provider did not answer within the configured ``timeout_s``."""

    code = "timeout"
    hint = "Raise the provider's timeout_s, or rely on the fallback chain."


class RateLimitError(ProviderUnavailableError):
    """The provider throttled us (HTTP 429); ``retry_after`` is its ``Retry-After``, if sent."""

    code = "rate_limited"
    hint = "Slow down: lower the request rate or batch size; the breaker holds off meanwhile."

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        symbol: str | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, symbol=symbol, provider=provider)
        self.retry_after = retry_after


class DataContractError(ProviderUnavailableError):
    """The provider answered, but with data that breaks the contract (no price, wrong symbol)."""

    code = "data_contract"
    hint = "The source returned unusable data; the next source is tried."


class SymbolNotFoundError(ProviderError):
    """The provider says the symbol does not exist. Final: no retry, no fall-over.

    A total failure is reported as ``symbol_not_found`` only when every provider the walk
    reached said so; after another provider failed or was skipped, the answer carries that
    failure's code instead (the precedence is ``_final_error`` in
    :mod:`resilient_provider.strategy.cascade`, and the README's "Errors"), so an outage never
    makes a symbol look delisted. Statistics count it as ``not_found``, never as a failure.
    """

    code = "symbol_not_found"
    hint = "Check the ticker symbol (Yahoo notation, e.g. BRK-B, 0700.HK, EURUSD=X)."


class CircuitOpenError(ProviderError):
    """The provider was skipped because its circuit breaker is open."""

    code = "circuit_open"
    hint = "The provider failed repeatedly and is rested until its reset timeout passes."

    def __init__(
        self,
        message: str,
        *,
        retry_in_s: float = 0.0,
        symbol: str | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, symbol=symbol, provider=provider)
        self.retry_in_s = retry_in_s


class ProviderNotInstalledError(ProviderError):
    """A configured provider's adapter or its library cannot be imported on this machine."""

    code = "provider_not_installed"
    hint = "Install the provider's package (see the README), or remove it from `providers`."


class DeadlineExceededError(ProviderError):
    """The whole-request ``deadline_s`` was spent before this step could run or finish."""

    code = "deadline_exceeded"
    hint = "Raise deadline_s, or lower provider timeouts and retry counts."


class ThrottledError(ProviderError):
    """The provider was skipped: our own rate limit gave no permit before the deadline."""

    code = "throttled"
    hint = ("More requests were asked than the pacing (the upstream budget, or the provider's "
            "rate_limit_per_s cap) lets through within deadline_s; raise either, or batch "
            "fewer symbols at once.")


class UpstreamCoolingError(ProviderError):
    """The provider was skipped: its upstream is cooling down after a 429 (HTTP "too many
    requests") for longer than the request's deadline allows, or a cached answer was served
    instead of waiting. ``own_block``: the upstream refuses this provider alone (its own 429s
    while another provider on it is served), which counts against its breaker."""

    code = "upstream_cooling"
    hint = ("The data source's host refused requests for a while (HTTP 429); cached answers "
            "are served meanwhile. Raise deadline_s to wait for it, or pace requests lower "
            "(upstreams.<name>.max_rate_per_s).")

    def __init__(
        self,
        message: str,
        *,
        cooling_for_s: float = 0.0,
        symbol: str | None = None,
        provider: str | None = None,
        own_block: bool = False,
    ) -> None:
        super().__init__(message, symbol=symbol, provider=provider)
        self.cooling_for_s = cooling_for_s
        self.own_block = own_block


# --- caller errors -------------------------------------------------------------------------------


class InvalidSymbolError(ResilientProviderError, ValueError):
    """The input is not a valid ticker symbol; raised before any I/O."""

    code = "invalid_symbol"
    hint = "Pass a Yahoo ticker symbol as a string, e.g. 'AAPL', 'BRK-B', '^GSPC', 'EURUSD=X'."


class ConfigError(ResilientProviderError, ValueError):
    """The configuration is invalid; the message names the field and the allowed values."""

    code = "config_error"
    hint = "Fix the named setting in config.yaml or the RESILIENT_PROVIDER_* environment."


class OfflineNoCacheError(ResilientProviderError):
    """Offline mode (the ``offline`` setting, ``--offline``) and the cache has no entry it may
    serve for the symbol (none, or one older than ``cache.max_stale_age``): no provider was
    asked."""

    code = "offline_no_cache"
    hint = ("Offline mode answers from the cache only; fetch the symbol once online "
            "(offline: false) to have it cached.")
