"""Configuration mistakes caught where they are made (issue 17): a base_url without its scheme,
an empty chain for the command line, a mistyped provider option, docs naming what exists."""

from __future__ import annotations

import inspect
import io
import re
import textwrap
from pathlib import Path

import pytest

import resilient_provider
from resilient_provider import ResilientProvider, Settings
from resilient_provider.cli import main
from resilient_provider.config import ProviderSettings, require_providers
from resilient_provider.errors import ConfigError
from resilient_provider.providers.registry import check_options, create_provider
from resilient_provider.providers.yahooquery import YahooQueryProvider
from resilient_provider.providers.yfinance import YFinanceProvider
from resilient_provider.testing import ScriptedProvider
from tests.conftest import fast_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


# --- base_url ------------------------------------------------------------------------------------

BAD_BASE_URL = """
providers:
  - name: yfinance
    options: {base_url: 'localhost:8000'}
"""


def test_a_base_url_without_a_scheme_is_refused_at_load_suggesting_http(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_BASE_URL)
    with pytest.raises(ConfigError) as caught:
        Settings.from_yaml(path)
    message = caught.value.message
    assert message.startswith(f"{path}: invalid configuration: ")
    assert ("providers[yfinance].options.base_url: must be an http:// or https:// URL with a "
            "host, got 'localhost:8000' (no scheme); did you mean 'http://localhost:8000'?"
            in message)


@pytest.mark.parametrize(("base_url", "problem", "suggestion"), [
    ("127.0.0.1:8765", "(no scheme)", "did you mean 'http://127.0.0.1:8765'?"),
    ("//mirror:80", "(no scheme)", "did you mean 'http://mirror:80'?"),
    ("htps://mirror", "(scheme 'htps')", "did you mean 'https://mirror'?"),
    ("ftp://mirror", "(scheme 'ftp')", "e.g. 'http://127.0.0.1:8765'"),
    ("http://", "(no host)", "e.g. 'http://127.0.0.1:8765'"),
    ("http://:8080", "(no host)", "e.g. 'http://127.0.0.1:8765'"),
    ("http://mirror:99999", "(Port out of range 0-65535)", "e.g."),
    ("http://mir ror", "(white space in it)", "e.g."),
])
def test_each_bad_base_url_says_what_is_wrong_and_what_was_meant(
        base_url: str, problem: str, suggestion: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(providers=[{"name": "yahooquery", "options": {"base_url": base_url}}])
    message = caught.value.message
    assert "providers[yahooquery].options.base_url: must be an http:// or https:// URL" in message
    assert f"{problem}; {suggestion}" in message


def test_a_base_url_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"options\.base_url: .* as a string.*got 8765"):
        Settings(providers=[{"name": "yfinance", "options": {"base_url": 8765}}])


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8765", "https://mirror.example/yahoo/",
                                      "HTTP://LOCALHOST", None])
def test_a_good_or_unset_base_url_is_kept_as_given(base_url: str | None) -> None:
    settings = Settings(providers=[{"name": "yfinance", "options": {"base_url": base_url}}])
    assert settings.providers[0].options == {"base_url": base_url}


def test_base_url_is_checked_for_any_provider_and_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_PROVIDERS",
                       '[{"name": "my-quotes", "options": {"base_url": "quotes.local:80"}}]')
    with pytest.raises(ConfigError) as caught:
        Settings()
    message = caught.value.message
    assert "providers[my-quotes].options.base_url" in message
    assert "did you mean 'http://quotes.local:80'?" in message
    assert "(set by environment variable RESILIENT_PROVIDER_PROVIDERS)" in message


@pytest.mark.parametrize("command", [["info", "AAPL"], ["batch", "-"], ["health"]])
def test_the_cli_exits_2_on_a_base_url_without_a_scheme(
        command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("AAPL\n"))
    code, err = run_cli([*command, "--config", write(tmp_path, BAD_BASE_URL)], capsys)
    assert code == 2
    assert "providers[yfinance].options.base_url" in err and "'localhost:8000'" in err
    assert "did you mean 'http://localhost:8000'?" in err and "Traceback" not in err


@pytest.mark.parametrize(("redis_url", "expected"), [
    ("me:Sekr3t@localhost:6379", "must be a redis://, rediss://, unix:// URL, got one without "
                                 "a scheme; did you mean redis:// in front of it"),
    ("redis://:Sekr3t@", "must name a host: redis://host:6379/0, got no host"),
    ("rediss://:Sekr3t@:8", "must name a host: rediss://host:6379/0, got no host"),
    ("unix://:Sekr3t@", "must name the socket file: unix:///path/to/redis.sock, got no path"),
    ("redis://:Sekr3t@h:70000/0", "must be a Redis URL with a port from 0 to 65535"),
])
def test_a_bad_redis_url_is_refused_without_showing_it(redis_url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(shared={"redis_url": redis_url})
    message = caught.value.message
    assert f"shared.redis_url: {expected}" in message
    assert "Sekr3t" not in message  # the URL is a secret: described, never shown


# --- providers: [] for the command line ----------------------------------------------------------

EMPTY_CHAIN = "providers: []\ncache: {backend: memory}\n"


@pytest.mark.parametrize("command", [["info", "AAPL"], ["info", "AAPL", "--json"],
                                     ["batch", "-"], ["health"]])
def test_the_cli_refuses_an_empty_provider_chain_with_exit_2(
        command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("AAPL\n"))
    path = write(tmp_path, EMPTY_CHAIN)
    code = main([*command, "--config", path])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert f"{path}: invalid configuration: providers: the list is empty" in captured.err
    assert "providers: [yfinance, yahooquery]" in captured.err


def test_the_cli_names_the_environment_variable_that_emptied_the_chain(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_PROVIDERS", "[]")
    code, err = run_cli(["info", "AAPL"], capsys)
    assert code == 2
    assert ("providers: the list is empty (set by environment variable "
            "RESILIENT_PROVIDER_PROVIDERS)") in err


def test_require_providers_accepts_a_chain_and_refuses_an_empty_one() -> None:
    require_providers(Settings())
    with pytest.raises(ConfigError, match=r"^invalid configuration: providers: the list is empty"):
        require_providers(Settings(providers=[]))


def test_an_offline_configuration_needs_no_provider() -> None:
    require_providers(Settings(providers=[], offline=True))  # the cache alone answers


def test_the_library_still_takes_an_empty_chain_with_providers_passed_in_code(
        tmp_path: Path) -> None:
    settings = Settings.from_yaml(write(tmp_path, EMPTY_CHAIN))
    with ResilientProvider([ScriptedProvider("mine")], settings=settings) as provider:
        info = provider.get_ticker_info("AAPL")
    assert (info["_data_source"], info["_provider"]) == ("primary", "mine")


# --- provider options checked against the constructor --------------------------------------------

def allowed_of(cls: type) -> str:
    return ", ".join(inspect.signature(cls).parameters)


def test_a_mistyped_option_names_the_provider_the_option_a_fix_and_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        create_provider(ProviderSettings(name="yfinance", options={"max_worker": 4}))
    message = caught.value.message
    assert message == (
        "providers[yfinance].options: unknown option 'max_worker' (did you mean 'max_workers'?) "
        f"for provider 'yfinance'; allowed: {allowed_of(YFinanceProvider)}")
    assert "trailing_peg_ratio" in message and "unexpected keyword" not in message


def test_every_unknown_option_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        create_provider(ProviderSettings(name="yahooquery",
                                         options={"chunk_sise": 5, "colour": "red"}))
    assert ("unknown options 'chunk_sise' (did you mean 'chunk_size'?), 'colour' for provider "
            f"'yahooquery'; allowed: {allowed_of(YahooQueryProvider)}") in caught.value.message


def test_the_facade_refuses_a_mistyped_option_when_built() -> None:
    settings = fast_settings(providers=[{"name": "yfinance", "options": {"timeout": 5}}])
    with pytest.raises(ConfigError, match=r"'timeout' \(did you mean 'timeout_s'\?\)"):
        ResilientProvider(settings=settings)


class _CsvQuotes:
    def __init__(self, *, path: str, timeout_s: float = 10.0) -> None:
        self.path = path


class _Flexible:
    def __init__(self, **options: object) -> None:
        self.options = options


def test_a_plugin_missing_a_required_option_is_told_which() -> None:
    with pytest.raises(ConfigError, match=r"^providers\[csv-quotes\]\.options: provider "
                                          r"'csv-quotes' needs the option path$"):
        check_options("csv-quotes", _CsvQuotes, {"timeout_s": 3})
    check_options("csv-quotes", _CsvQuotes, {"path": "q.csv"})


def test_a_factory_taking_any_keyword_is_not_second_guessed() -> None:
    check_options("flexible", _Flexible, {"anything": 1, "at_all": 2})


def test_the_cli_exits_2_on_a_mistyped_option_with_the_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, """
        providers:
          - name: yfinance
            options: {max_worker: 4}
        cache: {backend: memory}
        """)
    code, err = run_cli(["info", "AAPL", "--config", path], capsys)
    assert code == 2
    assert "unknown option 'max_worker' (did you mean 'max_workers'?) for provider 'yfinance'" \
        in err and "unexpected keyword" not in err


# --- the docs name what exists -------------------------------------------------------------------

_CITED = re.compile(r"(?<![\w.])(ResilientProvider|Settings)\.([A-Za-z_]\w*)")


def cited(text: str) -> set[tuple[str, str]]:
    return {(match[1], match[2]) for match in _CITED.finditer(text)}


def test_config_yaml_and_the_readme_cite_only_constructors_that_exist() -> None:
    names = cited((ROOT / "config.yaml").read_text()) | cited((ROOT / "README.md").read_text())
    classes = {"ResilientProvider": ResilientProvider, "Settings": Settings}
    assert ("Settings", "from_yaml") in names and ("ResilientProvider", "from_config") in names
    missing = sorted(f"{cls}.{attr}" for cls, attr in names
                     if not hasattr(classes[cls], attr))
    assert missing == []


def test_the_package_docstrings_cite_only_names_that_exist() -> None:
    texts = [p.read_text() for p in Path(resilient_provider.__file__).parent.rglob("*.py")]
    names = set().union(*(cited(text) for text in texts))
    with ResilientProvider([], settings=fast_settings()) as facade:
        objects = {"ResilientProvider": (ResilientProvider, facade),
                   "Settings": (Settings, Settings())}
        missing = sorted(f"{cls}.{attr}" for cls, attr in names
                         if not any(hasattr(o, attr) for o in objects[cls]))
    assert missing == []


def test_the_readme_configuration_example_prints_the_suggestion(
        capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration"):readme.index("## Providers")]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    exec(block[1], {})
    out = capsys.readouterr().out
    assert "did you mean 'http://localhost:8000'?" in out
