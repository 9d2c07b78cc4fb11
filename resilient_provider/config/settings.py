"""Settings: the typed, validated form of ``config.yaml`` plus ``RESILIENT_PROVIDER_*`` overrides.

Configuration is validated once, here at the edge; the rest of the library reads only these
frozen models. Precedence: environment > values given (YAML file or keyword arguments) >
defaults. Every failure raises :class:`~resilient_provider.errors.ConfigError` naming each bad
setting by its dotted path, the value and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import platformdirs
from pydantic import (
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from ..errors import ConfigError
from ..redaction import safe_repr
from . import loading, messages, urls
from .history import HistorySettings
from .monitoring import HealthSettings, LoggingSettings, StatsSettings
from .shared import SharedSettings
from .types import Duration, FrozenModel, freeze, usable_path
from .upstreams import YAHOO_UPSTREAM, UpstreamSettings

__all__ = [
    "DEFAULT_PROVIDER_NAMES", "ENV_PREFIX", "BreakerSettings", "CacheSettings", "ProviderPolicy",
    "ProviderSettings", "RetrySettings", "Settings",
]

DEFAULT_PROVIDER_NAMES: tuple[str, ...] = ("yfinance", "yahooquery")
"""The fallback chain used when the configuration names no providers: primary first."""

ENV_PREFIX = "RESILIENT_PROVIDER_"
"""Prefix of environment overrides; ``__`` separates nesting levels (``..._CACHE__FRESH_FOR``)."""

class RetrySettings(FrozenModel):
    """How often and how patiently one provider is retried within one request."""

    max_attempts: int = Field(default=3, ge=1, le=10)
    base_delay_s: Duration = Field(default=0.5, ge=0, le=60)
    multiplier: float = Field(default=2.0, ge=1, le=10)
    max_delay_s: Duration = Field(default=8.0, ge=0, le=600)
    jitter: Duration = Field(default=0.25, ge=0, le=60)
    max_retry_after_s: Duration = Field(default=30.0, ge=0, le=3600)


class BreakerSettings(FrozenModel):
    """When a provider's circuit breaker opens, and how it tries the provider again."""

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    window_s: Duration = Field(default=60.0, gt=0, le=86400)
    reset_timeout_s: Duration = Field(default=30.0, gt=0, le=86400)
    success_threshold: int = Field(default=2, ge=1, le=100)
    half_open_max_calls: int = Field(default=1, ge=1, le=100)


class ProviderPolicy(FrozenModel):
    """Timeout, retry, breaker and rate-limit settings of a provider (``provider_defaults``)."""

    timeout_s: Duration = Field(default=10.0, gt=0, le=600)
    #: An optional hard cap on this provider's calls per second (0: none). Pacing is the
    #: upstream budget's job (``upstreams``); this only bounds one provider further.
    rate_limit_per_s: float = Field(default=0.0, ge=0, le=10_000)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)


class ProviderSettings(ProviderPolicy):
    """One entry of ``providers``: a provider's name, its policy and constructor options."""

    name: str = Field(
        pattern=r"^[a-z][a-z0-9_.-]{0,63}$",
        description="a lower-case name: a letter, then up to 63 of a-z 0-9 _ . -",
    )
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _check_url_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        urls.check_url_options(options)  # base_url: 'localhost:8000' fails here, at load time
        return options

    def __repr_args__(self) -> Any:
        # Options may carry credentials (API keys); a repr goes to logs, so values are masked.
        for key, value in super().__repr_args__():
            yield (key, dict.fromkeys(value, "***")) if key == "options" else (key, value)


class CacheSettings(FrozenModel):
    """Where answers are cached and how long they count as fresh, then as usable stale data."""

    backend: Literal["disk", "memory"] = "disk"
    path: Path | None = None
    fresh_for: Duration = Field(default=48 * 3600.0, ge=0)
    max_stale_age: Duration = Field(default=7 * 86400.0, ge=0)
    read_through: bool = False
    #: How long a symbol a provider confirmed it does not know is answered as not found
    #: without asking again (the negative cache); 0 turns that off.
    not_found_for: Duration = Field(default=24 * 3600.0, ge=0)

    @field_validator("path")
    @classmethod
    def _expand_user(cls, path: Path | None) -> Path | None:
        return usable_path(path)

    @model_validator(mode="after")
    def _stale_outlives_fresh(self) -> Self:
        if self.max_stale_age < self.fresh_for:
            raise ValueError(
                f"max_stale_age ({self.max_stale_age:g} s) must be >= "
                f"fresh_for ({self.fresh_for:g} s): stale data is data older than fresh_for"
            )
        return self

    def resolved_path(self) -> Path:
        """The cache directory: ``path``, or the user cache dir's ``info`` folder when unset."""
        if self.path is not None:
            return self.path
        return Path(platformdirs.user_cache_dir("resilient-provider")) / "info"


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``override``, merging nested mappings instead of replacing them."""
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            value = _deep_merge(below, value)
        merged[key] = value
    return merged


def _as_mapping(value: Any) -> Any:
    """A model instance given in code as the mapping of what was set on it; else ``value``."""
    return value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value


class Settings(BaseSettings):
    """The whole configuration: the provider chain, per-provider policies, cache and switches."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False,
        frozen=True, extra="forbid",
    )

    non_setting_env_vars: ClassVar[frozenset[str]] = frozenset({f"{ENV_PREFIX}CONFIG"})
    """Variables under the prefix that are not settings (the config file path a CLI may read)."""

    providers: list[ProviderSettings] = Field(
        default_factory=lambda: [ProviderSettings(name=n) for n in DEFAULT_PROVIDER_NAMES]
    )
    provider_defaults: ProviderPolicy = Field(default_factory=ProviderPolicy)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    enable_fallback: bool = True
    enable_stale_cache: bool = True
    #: Answer from the cache only, at once: no provider is asked, nothing is retried or waited
    #: for; entries are served fresh or stale (whatever ``enable_stale_cache`` says), symbols
    #: without one get ``offline_no_cache``.
    offline: bool = False
    deadline_s: Duration = Field(default=30.0, gt=0, le=3600)
    max_concurrent_requests: int = Field(default=8, ge=1, le=1024)
    batch_size: int = Field(default=25, ge=1, le=1000)
    upstreams: dict[str, UpstreamSettings] = Field(
        default_factory=lambda: {YAHOO_UPSTREAM: UpstreamSettings()})
    stats: StatsSettings = Field(default_factory=StatsSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    shared: SharedSettings = Field(default_factory=SharedSettings)

    def upstream(self, name: str) -> UpstreamSettings:
        """The budget settings of upstream ``name`` (defaults for one not configured)."""
        return self.upstreams.get(name) or UpstreamSettings()

    def stats_path(self) -> Path:
        """The statistics store: ``stats.path``, else the user's (one per user, not per cache
        directory: see :func:`~.monitoring.default_stats_path`)."""
        return self.stats.resolved_path()

    def __init__(self, **values: Any) -> None:
        # Underscore keys would reach BaseSettings as its own options (_env_file, _secrets_dir...).
        private = sorted(key for key in values if key.startswith("_"))
        if private:
            raise ConfigError(
                f"invalid configuration: unknown setting {safe_repr(private[0])}")
        env_paths = messages.environment_paths(type(self), ENV_PREFIX, self.non_setting_env_vars)
        loading.check_env_values(env_paths)
        # Instances become mappings of what was set on them so env overrides merge into them.
        given = {key: _as_mapping(value) for key, value in values.items()}
        loading.check_shape(given)
        try:
            super().__init__(**given)
        except ValidationError as exc:
            message = messages.describe_validation_error(exc, type(self), env_paths)
            raise ConfigError(message) from exc
        except SettingsError as exc:  # an env value pydantic-settings could not decode (bad JSON)
            raise ConfigError(messages.describe_settings_error(exc, env_paths)) from exc

    def __hash__(self) -> int:
        return hash((type(self), freeze(self.model_dump())))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first (it wins), then the values given; no dotenv or secret files."""
        return env_settings, init_settings

    @model_validator(mode="before")
    @classmethod
    def _apply_provider_defaults(cls, data: Any) -> Any:
        """Deep-merge ``provider_defaults`` under every entry, so entries hold only changes."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        defaults = _as_mapping(data.get("provider_defaults", {}))
        entries = data.get("providers", DEFAULT_PROVIDER_NAMES)
        if not isinstance(defaults, Mapping) or not isinstance(entries, list | tuple):
            return data  # field validation reports the wrong type
        merged = []
        for entry in entries:
            entry = {"name": entry} if isinstance(entry, str) else _as_mapping(entry)
            merged.append(_deep_merge(defaults, entry) if isinstance(entry, Mapping) else entry)
        data["providers"] = merged
        return data

    @model_validator(mode="wrap")
    @classmethod
    def _name_provider_errors(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Report errors in ``providers`` entries by provider name rather than list index."""
        try:
            return handler(data)
        except ValidationError as exc:
            if not isinstance(data, Mapping):
                raise
            entries = data.get("providers", DEFAULT_PROVIDER_NAMES)
            if not isinstance(entries, list | tuple):
                raise
            raise messages.name_list_entries(exc, "providers", entries) from None

    @field_validator("providers")
    @classmethod
    def _unique_names(cls, providers: list[ProviderSettings]) -> list[ProviderSettings]:
        names = [provider.name for provider in providers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"provider {name!r} is listed twice; names must be unique")
        return providers

    def policy_for(self, name: str) -> ProviderPolicy:
        """The policy of the provider entry called ``name``, else ``provider_defaults``."""
        for provider in self.providers:
            if provider.name == name:
                return provider
        return self.provider_defaults

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> Self:
        """Load settings from a YAML file (an empty file means defaults), then apply the env."""
        file = Path(path)
        raw = loading.read_yaml_file(file)
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {file}: the top level must be a mapping of settings, "
                              f"got {type(raw).__name__}")
        try:
            # str(): YAML allows keys like 1 or true; they are then reported as unknown settings.
            return cls(**{str(key): value for key, value in raw.items()})
        except ConfigError as exc:
            raise ConfigError(f"{file}: {exc.message}") from exc.__cause__

