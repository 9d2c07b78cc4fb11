"""Configuration: the typed, validated settings of ``config.yaml`` and ``RESILIENT_PROVIDER_*``.

What lives where:

* :mod:`.settings` -- :class:`Settings` (the whole configuration, YAML loading, env overrides)
  and the models of the fallback chain: :class:`ProviderPolicy`, :class:`ProviderSettings`,
  :class:`RetrySettings`, :class:`BreakerSettings`, :class:`CacheSettings`, and the constants
  :data:`DEFAULT_PROVIDER_NAMES` and :data:`ENV_PREFIX`.
* :mod:`.monitoring` -- what watches a run: :class:`StatsSettings`, :class:`AlertSettings`,
  :class:`HealthSettings`, :class:`LoggingSettings`.
* :mod:`.upstreams` -- :class:`UpstreamSettings`: the shared request budget of an upstream
  (the host providers talk to; :data:`YAHOO_UPSTREAM` for the built-in adapters).
* :mod:`.history` -- :class:`HistorySettings`: freshness of the forming bar, the partial-answer
  rule and retention of the history cache (``history:``).
* :mod:`.shared` -- :class:`SharedSettings`: fleet mode (state shared through Redis).
* :mod:`.types` -- value types shared by the models: :data:`Duration` with
  :func:`parse_duration` and :func:`format_duration`, and the frozen, hashable base model.
* :mod:`.urls` -- URL settings (a provider's ``base_url``) checked at load time, with the URL
  probably meant (``localhost:8000`` → ``http://localhost:8000``).
* :mod:`.chain` -- :func:`require_providers`: what a command line (which has no providers
  passed in code) requires of the fallback chain.
* :mod:`.loading` -- reads hostile input safely before pydantic sees it: the YAML file (size,
  UTF-8, nesting, huge integers), the shape of the values given (depth, cycles, alias bombs)
  and environment values (``null``, deep JSON).
* :mod:`.messages` -- turns pydantic validation errors into one :class:`ConfigError` message
  that names each bad setting by its dotted path.

Import from this package, not from its modules: the split between them may change.
"""

from ..errors import ConfigError
from .chain import require_providers
from .history import HistorySettings
from .monitoring import AlertSettings, HealthSettings, LoggingSettings, StatsSettings
from .settings import (
    DEFAULT_PROVIDER_NAMES,
    ENV_PREFIX,
    BreakerSettings,
    CacheSettings,
    ProviderPolicy,
    ProviderSettings,
    RetrySettings,
    Settings,
)
from .shared import SharedSettings
from .types import Duration, format_duration, parse_duration
from .upstreams import YAHOO_UPSTREAM, UpstreamSettings

__all__ = [
    "DEFAULT_PROVIDER_NAMES",
    "ENV_PREFIX",
    "YAHOO_UPSTREAM",
    "AlertSettings",
    "BreakerSettings",
    "CacheSettings",
    "ConfigError",
    "Duration",
    "HealthSettings",
    "HistorySettings",
    "LoggingSettings",
    "ProviderPolicy",
    "ProviderSettings",
    "RetrySettings",
    "Settings",
    "SharedSettings",
    "StatsSettings",
    "UpstreamSettings",
    "format_duration",
    "parse_duration",
    "require_providers",
]
