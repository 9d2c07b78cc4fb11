"""Names in config.yaml resolve to built-in adapters or to entry-point plugins."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from resilient_provider import ResilientProvider, Settings
from resilient_provider.config import ProviderSettings
from resilient_provider.errors import ConfigError
from resilient_provider.providers.registry import ENTRY_POINT_GROUP, create_provider
from resilient_provider.providers.yahooquery import YahooQueryProvider
from resilient_provider.providers.yfinance import YFinanceProvider

PLUGIN = '''
class EchoProvider:
    """Answers every symbol with a fixed price."""

    def __init__(self, *, price: float = 1.0, timeout_s: float = 10.0) -> None:
        self.name = "echo"
        self.price = price

    def fetch_info(self, symbols):
        return {s: {"symbol": s, "regularMarketPrice": self.price} for s in symbols}

    def close(self):
        pass
'''


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real distribution on sys.path declaring an entry point, as `pip install` would."""
    (tmp_path / "rp_echo_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "rp_echo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rp-echo-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\necho = rp_echo_plugin:EchoProvider\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()


@pytest.mark.parametrize(("name", "cls"), [("yfinance", YFinanceProvider),
                                           ("yahooquery", YahooQueryProvider)])
def test_builtin_names_build_the_adapters_with_their_options(name: str, cls: type) -> None:
    provider = create_provider(ProviderSettings(name=name, options={"max_workers": 2}),
                               timeout_s=3.0)
    try:
        assert isinstance(provider, cls) and provider.name == name
        assert "timeout_s=3.0" in repr(provider)
    finally:
        provider.close()


def test_an_explicit_timeout_option_wins_over_the_policy() -> None:
    provider = create_provider(ProviderSettings(name="yfinance", options={"timeout_s": 1.5}),
                               timeout_s=10.0)
    assert "timeout_s=1.5" in repr(provider)
    provider.close()


def test_an_unknown_name_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"'nosuch'.*known: yahooquery, yfinance"):
        create_provider(ProviderSettings(name="nosuch"))


def test_a_bad_option_is_a_config_error_naming_the_provider() -> None:
    with pytest.raises(ConfigError, match=r"providers\[yfinance\]\.options.*colour"):
        create_provider(ProviderSettings(name="yfinance", options={"colour": "red"}))


@pytest.mark.parametrize("name", ["yfinance", "yahooquery"])
@pytest.mark.parametrize("base_url", ["ftp://127.0.0.1:1", "127.0.0.1:8765", "http://", 8765])
def test_a_bad_base_url_is_a_config_error_when_loaded_not_at_the_first_request(
        name: str, base_url: object) -> None:
    # yahooquery's adapter made its session only at the first fetch: a typo surfaced as a
    # provider failure at run time, tripping its breaker (issue 15). Now the settings refuse
    # it before any adapter is built (issue 17).
    with pytest.raises(ConfigError, match=rf"providers\[{name}\]\.options\.base_url: must be"):
        Settings(providers=[{"name": name, "options": {"base_url": base_url}}])


@pytest.mark.parametrize("name", ["yfinance", "yahooquery"])
def test_the_adapters_still_refuse_a_bad_base_url_given_in_code(name: str) -> None:
    cls = {"yfinance": YFinanceProvider, "yahooquery": YahooQueryProvider}[name]
    with pytest.raises(ValueError, match="base_url must be"):
        cls(base_url="127.0.0.1:8765")


def test_a_bad_base_url_is_named_without_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(providers=[{"name": "yahooquery",
                             "options": {"base_url": "ftp://me:s3cret@mirror"}}])
    assert "s3cret" not in str(caught.value) and "mirror" in str(caught.value)


def test_a_plugin_registers_through_the_entry_point_group(installed_plugin: None) -> None:
    provider = create_provider(ProviderSettings(name="echo", options={"price": 42.0}))
    assert provider.fetch_info(["AAPL"]) == {"AAPL": {"symbol": "AAPL",
                                                      "regularMarketPrice": 42.0}}


def test_config_names_a_plugin_like_a_builtin(installed_plugin: None) -> None:
    settings = Settings(providers=["echo"], cache={"backend": "memory"})
    with ResilientProvider(settings=settings) as facade:
        info = facade.get_ticker_info("msft")
    assert (info["_provider"], info["regularMarketPrice"]) == ("echo", 1.0)
