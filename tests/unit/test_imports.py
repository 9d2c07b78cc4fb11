"""Import surface: the lazy adapters, a light ``import resilient_provider``, the version, config."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

import resilient_provider
from resilient_provider import config, errors, providers

# Heavy libraries that importing the package does not load today: the adapters' libraries
# (seconds to import), the data-frame stack they pull in, and the optional extras.
HEAVY_LIBRARIES = ["yfinance", "yahooquery", "pandas", "numpy", "curl_cffi", "pyarrow", "matplotlib"]

# What resilient_provider.config exported when it was one module (its __all__ then).
CONFIG_NAMES = [
    "DEFAULT_PROVIDER_NAMES", "ENV_PREFIX", "AlertSettings", "BreakerSettings", "CacheSettings",
    "Duration", "HealthSettings", "LoggingSettings", "ProviderPolicy", "ProviderSettings",
    "RetrySettings", "Settings", "StatsSettings", "format_duration", "parse_duration",
]


def run_fresh_python(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return what it printed."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=30)
    return done.stdout


@pytest.fixture(scope="module", params=["import resilient_provider",
                                        "import resilient_provider.providers"])
def loaded_by_import(request: pytest.FixtureRequest) -> frozenset[str]:
    """The top-level packages in ``sys.modules`` after the import statement, in a fresh process."""
    code = f"{request.param}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    names: list[str] = json.loads(run_fresh_python(code))
    return frozenset(name.partition(".")[0] for name in names)


def test_the_adapters_import_from_the_providers_package() -> None:
    from resilient_provider.providers import YahooQueryProvider, YFinanceProvider
    from resilient_provider.providers import yahooquery as yahooquery_adapter
    from resilient_provider.providers import yfinance as yfinance_adapter

    assert YFinanceProvider is yfinance_adapter.YFinanceProvider
    assert YahooQueryProvider is yahooquery_adapter.YahooQueryProvider


def test_the_adapters_are_in_the_providers_all() -> None:
    assert {"YFinanceProvider", "YahooQueryProvider"} <= set(providers.__all__)


def test_dir_of_providers_lists_the_adapters_before_they_are_imported() -> None:
    code = ("import json, sys\nimport resilient_provider.providers as p\n"
            "print(json.dumps([sorted(dir(p)), 'yfinance' in sys.modules]))")
    listed, yfinance_loaded = json.loads(run_fresh_python(code))

    assert {"YFinanceProvider", "YahooQueryProvider"} <= set(listed)
    assert not yfinance_loaded


def test_an_unknown_name_in_providers_is_the_usual_attribute_error() -> None:
    name = "NoSuchProvider"
    message = "module 'resilient_provider.providers' has no attribute 'NoSuchProvider'"

    with pytest.raises(AttributeError, match=f"^{message}$"):
        getattr(providers, name)


@pytest.mark.parametrize("library", HEAVY_LIBRARIES)
def test_importing_the_package_does_not_load_heavy_libraries(
    loaded_by_import: frozenset[str], library: str
) -> None:
    assert library not in loaded_by_import


def test_version_is_the_installed_distribution_version() -> None:
    assert resilient_provider.__version__ == importlib.metadata.version("resilient-provider")


def test_the_config_package_still_exports_every_name_it_exported() -> None:
    assert [name for name in CONFIG_NAMES if name not in config.__all__] == []
    assert [name for name in CONFIG_NAMES if not hasattr(config, name)] == []


def test_the_config_package_exports_the_config_error_of_the_taxonomy() -> None:
    assert "ConfigError" in config.__all__
    assert config.ConfigError is errors.ConfigError
