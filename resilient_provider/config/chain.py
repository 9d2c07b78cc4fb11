"""Checks a command line makes of the fallback chain that the library itself does not.

In code, ``providers: []`` is a valid configuration: the providers are then passed to
``ResilientProvider(providers=[...])``. A command has no such providers, so an empty chain
there would answer every symbol from the cache alone (or with an error) and exit 1 at run time,
as if Yahoo were down; :func:`require_providers` refuses it up front instead.
"""

from __future__ import annotations

import os

from ..errors import ConfigError
from .settings import DEFAULT_PROVIDER_NAMES, ENV_PREFIX, Settings

__all__ = ["require_providers"]


def require_providers(settings: Settings, *, source: str | os.PathLike[str] | None = None) -> None:
    """Raise ConfigError unless ``settings`` names at least one provider (or is offline:
    then no provider is asked anyway).

    ``source`` is the configuration file the settings came from, named in the message; an
    environment override of the list is named too, as it beats the file.
    """
    if settings.providers or settings.offline:
        return
    variable = f"{ENV_PREFIX}PROVIDERS"
    by_env = any(name.upper() == variable for name in os.environ)  # it beats the file
    file = f"{os.fspath(source)}: " if source is not None and not by_env else ""
    env = f" (set by environment variable {variable})" if by_env else ""
    defaults = ", ".join(DEFAULT_PROVIDER_NAMES)
    raise ConfigError(
        f"{file}invalid configuration: providers: the list is empty{env}, so there is no "
        "provider to fetch from (an empty list is only for providers passed in code); name at "
        f"least one, e.g. providers: [{defaults}], or remove the key for that default")
