"""`ResilientProvider()` with no arguments, `from_config`, the context manager."""

from __future__ import annotations

from pathlib import Path

import pytest

from resilient_provider import ResilientProvider, Settings
from resilient_provider.cache import DiskCache
from resilient_provider.errors import ConfigError
from resilient_provider.providers.registry import BUILTIN_PROVIDERS
from resilient_provider.providers.yahooquery import YahooQueryProvider
from resilient_provider.providers.yfinance import YFinanceProvider


def test_no_arguments_build_the_real_adapters_without_any_io(tmp_path: Path) -> None:
    with ResilientProvider() as provider:
        assert isinstance(provider.cache, DiskCache)
        assert [type(p) for p in provider.providers] == [YFinanceProvider, YahooQueryProvider]
        # The adapters build their library objects lazily: nothing has touched the network, and
        # each HTTP timeout is the provider policy's timeout.
        for adapter in provider.providers:
            assert "timeout_s=10.0" in repr(adapter)


def test_a_known_provider_whose_library_is_missing_answers_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(BUILTIN_PROVIDERS, "yfinance", "no_such_module_rp:Provider")
    with ResilientProvider(settings=Settings(providers=["yfinance"],
                                             cache={"backend": "memory"})) as provider:
        info = provider.get_ticker_info("AAPL")
    assert info["_error_code"] == "provider_not_installed"
    assert "yfinance: not installed" in info["error"]


def test_default_cache_lives_under_the_user_cache_directory() -> None:
    with ResilientProvider() as provider:
        assert "xdg-cache" in repr(provider.cache)


def test_from_config_reads_the_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("providers: []\ndeadline_s: 5s\ncache:\n  backend: memory\n  fresh_for: 1h\n")
    with ResilientProvider.from_config(path) as provider:
        assert provider.settings.deadline_s == 5 and provider.settings.cache.fresh_for == 3600
        assert provider.get_ticker_info("AAPL")["error"] == "cache: no entry"


def test_from_config_with_a_bad_file_raises_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("deadline_s: -1\n")
    with pytest.raises(ConfigError, match="deadline_s"):
        ResilientProvider.from_config(path)


def test_unknown_provider_name_is_a_config_error() -> None:
    from resilient_provider import Settings

    with pytest.raises(ConfigError, match="unknown provider 'yfinace'"):
        ResilientProvider(settings=Settings(providers=["yfinace"]))


def test_a_closed_facade_refuses_requests(tmp_path: Path) -> None:
    provider = ResilientProvider(settings=None)
    provider.close()
    provider.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        provider.fetch("AAPL")
