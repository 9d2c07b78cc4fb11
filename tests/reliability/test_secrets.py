"""Secrets (issue 15, item 6): credentials never leave the library.

Credentials in provider options (proxy URLs with passwords holding ``/`` and ``@``, API keys),
in ``base_url`` and in environment variables, and credentials that a provider's own exception
carries (a proxy URL, an ``Authorization: Bearer`` header), must not appear in log lines at any
level in either format, in the reprs of the settings, the providers and the façade, in
exception messages (ConfigError included), in ``stats`` (in process, stored, on the command
line, as JSON or Prometheus text) or in ``health``.

``RP_RELIABILITY_LONG=1`` runs thousands of generated secrets per property (see scale.py).
"""

from __future__ import annotations

import io
import json
import logging
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest

from resilient_provider import ResilientProvider, Settings
from resilient_provider.cli import main
from resilient_provider.errors import ConfigError, ProviderUnavailableError
from resilient_provider.health import check_health
from resilient_provider.logs import JsonFormatter, TextFormatter
from resilient_provider.redaction import redact, safe_repr
from resilient_provider.testing import FakeYahooServer, Fault, Raise, ScriptedProvider

from ..conftest import UNPACED_YAHOO, fast_settings
from .scale import report, scale

EXAMPLES = scale(300, 5000)
pytestmark = pytest.mark.timeout(scale(120, 1200))  # the long versions take minutes
fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

# Fixed secrets for the end-to-end checks: each is a word that appears nowhere else.
PROXY_PASSWORD = "Pr0xy/s3cr@t"            # '/' and '@' inside, as issue 15 found them
KEY = "K3yQ8ZwXv"
TOKEN = "T0kE9nRqLm.Zx-y_z"
URL_PASSWORD = "Ur1pWd"                    # base_url: a URL's password cannot hold a raw '/'
ENV_PASSWORD = "EnvPw7Qk"
SECRETS = [PROXY_PASSWORD, KEY, TOKEN, URL_PASSWORD, ENV_PASSWORD]
# Parts that must not show either: a leak cut at '/' or '@' would still show these.
FRAGMENTS = ["Pr0xy", "s3cr", "K3yQ8", "T0kE9", "Ur1pWd", "EnvPw7"]

PROXY_URL = f"http://user:{PROXY_PASSWORD}@proxy.example:8080"
LEAKY_ERROR = ConnectionError(
    f"ProxyError: GET via {PROXY_URL} failed; sent Authorization: Bearer {TOKEN} "
    f"and apikey={KEY}")


def assert_clean(text: str, where: str) -> None:
    """No secret, and no part of one, appears in ``text``."""
    for secret in (*SECRETS, *FRAGMENTS):
        assert secret not in text, f"{secret!r} leaked in {where}: {text[:2000]}"


@pytest.fixture
def logs() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Every record at DEBUG (other libraries' too) as text and as JSON lines."""
    text, as_json = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(text), logging.StreamHandler(as_json)]
    handlers[0].setFormatter(TextFormatter())
    handlers[1].setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield text, as_json
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


def leaky_options() -> dict[str, Any]:
    return {"proxy": PROXY_URL, "api_key": KEY, "token": TOKEN,
            "headers": {"Authorization": f"Bearer {TOKEN}"}}


# --- generated secrets through each boundary -------------------------------------------------

PASSWORD_CHARS = string.ascii_letters + string.digits + "/@:!$%^*()-_=+.~[]"
TOKEN_CHARS = string.ascii_letters + string.digits + "-._~+/"
# Markers at both ends that no other text holds: a leak of any part of a secret shows one
# (masking cuts from the start, so a partial leak is a tail, with the end marker).
PASSWORDS = st.text(PASSWORD_CHARS, min_size=4, max_size=40).map(lambda p: f"Qz{p}Zq")
TOKENS = st.text(TOKEN_CHARS, min_size=4, max_size=60).map(lambda t: f"Qz{t}Zq")


def _places(password: str, token: str) -> list[tuple[str, str]]:
    """Messages as HTTP libraries and providers write them, each with the secret it holds."""
    return [
        (f"GET http://user:{password}@proxy.example:8080/v7 failed", password),
        (f"proxies={{'https': 'socks5h://me:{password}@10.0.0.1:1080'}}", password),
        (f"curl: (56) CONNECT via https://a.b:{password}@[::1]:3128 refused", password),
        (f"Authorization: Bearer {token}", token),
        (f"headers {{'Authorization': 'Basic {token}'}}", token),
        (f"retrying https://query2.finance.yahoo.com/v7?crumb={token}&apikey={token}", token),
    ]


def _visible(text: str, secret: str) -> bool:
    """The secret, or a part of it with one of its markers, shows in ``text``."""
    return secret in text or "Qz" in text or "Zq" in text


def test_generated_credentials_never_pass_redaction_errors_or_echoes() -> None:
    counts = {"examples": 0, "messages": 0}

    @fuzz
    @given(PASSWORDS, TOKENS)
    def check(password: str, token: str) -> None:
        counts["examples"] += 1
        for message, secret in _places(password, token):
            counts["messages"] += 1
            for shown in (redact(message), ProviderUnavailableError(message).message,
                          safe_repr({"options": {"note": message}}, limit=10_000)):
                assert not _visible(shown, secret), (message, shown)
        echoed = safe_repr({"api_key": password, "proxy": token, "password": password},
                           limit=10_000)
        assert not _visible(echoed, password) and not _visible(echoed, token), echoed

    check()
    report("secrets.generated", **counts)


def test_generated_credentials_in_a_provider_failure_never_reach_a_log_line(
        logs: tuple[io.StringIO, io.StringIO]) -> None:
    primary = ScriptedProvider("one")
    facade = ResilientProvider([primary, ScriptedProvider("two")],
                               settings=fast_settings(provider_defaults={
                                   "retry": {"max_attempts": 1},
                                   "breaker": {"failure_threshold": 1000}}))
    counts = {"examples": 0}
    secrets: list[str] = []

    @fuzz
    @given(PASSWORDS, TOKENS, st.integers(0, 5))
    def check(password: str, token: str, place: int) -> None:
        counts["examples"] += 1
        message, secret = _places(password, token)[place]
        secrets.append(secret)
        primary.set_default(Raise(ConnectionError(message)))
        result = facade.fetch("AAPL")
        assert result.success and result.provider == "two"
        for attempt in result.attempts:
            assert not _visible(attempt.detail, secret), attempt.detail

    try:
        check()
    finally:
        facade.close()
    text, as_json = logs
    written = text.getvalue() + as_json.getvalue()
    assert written.count("***") >= counts["examples"]  # each failure was logged, masked
    leaked = [secret for secret in secrets if _visible(written, secret)]
    assert not leaked, leaked[:5]
    report("secrets.logged", **counts, log_bytes=len(written))


# --- the façade, its stats and the command line ---------------------------------------------------


def test_credentials_never_show_in_reprs_errors_stats_or_prometheus(
        tmp_path: Path, logs: tuple[io.StringIO, io.StringIO],
        capsys: pytest.CaptureFixture[str]) -> None:
    stats_path = tmp_path / "stats.sqlite3"
    settings = fast_settings(
        providers=[{"name": "yfinance", "options": leaky_options()}],
        stats={"path": str(stats_path)}, cache={"backend": "memory"},
        provider_defaults={"retry": {"max_attempts": 1}})  # no retry waits out real seconds
    primary = ScriptedProvider("one", default=Raise(LEAKY_ERROR))
    leaky_answer = ProviderUnavailableError(str(LEAKY_ERROR))
    shown: dict[str, str] = {"settings repr": repr(settings), "settings str": str(settings),
                             "entry repr": repr(settings.providers[0])}
    with ResilientProvider([primary, ScriptedProvider("two", default=leaky_answer)],
                           settings=settings) as facade:
        result = facade.fetch("AAPL")
        assert not result.success
        tagged = facade.get_ticker_info("MSFT")
        shown |= {
            "facade repr": repr(facade), "providers repr": repr(facade.providers),
            "result error": str(result.error), "result repr": repr(result),
            "attempts": repr(result.attempts), "tagged": json.dumps(tagged, default=str),
            "stats": json.dumps(facade.get_reliability_stats(), default=str),
            "report": repr(facade.reliability_report()),
            "prometheus": generate_latest(facade.prometheus_registry()).decode(),
        }
    config = tmp_path / "config.yaml"
    config.write_text(f"stats: {{path: {json.dumps(str(stats_path))}}}\n")
    for args in (["stats"], ["stats", "--json"], ["stats", "--prometheus"], ["stats", "--all"]):
        assert main([*args, "--config", str(config)]) == 0
        out, err = capsys.readouterr()
        shown[" ".join(args)] = out + err
    text, as_json = logs
    shown |= {"text log": text.getvalue(), "json log": as_json.getvalue()}
    assert "falling over" in shown["text log"]  # the failure was logged
    for where, output in shown.items():
        assert_clean(output, where)
    report("secrets.facade", outputs=len(shown), log_bytes=len(shown["text log"]))


def test_config_errors_never_echo_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    attempts: list[tuple[str, Any]] = [
        ("deadline_s", leaky_options()),
        ("deadline_s", PROXY_URL),
        ("providers", [{"name": "yfinance", "options": leaky_options(), "timeout_s": "soon"}]),
        ("providers", [{"name": "NOT VALID", "options": leaky_options()}]),
        ("upstreams", {"yahoo": {"cooldown_s": {"password": PROXY_PASSWORD}}}),
        ("provider_defaults", {"retry": {"token": TOKEN}}),
        ("health", {"probe_symbol": f"Bearer {TOKEN}"}),
    ]
    messages = []
    for key, value in attempts:
        with pytest.raises(ConfigError) as caught:
            Settings(**{key: value})
        messages.append((key, str(caught.value), repr(caught.value)))
    env = {
        "RESILIENT_PROVIDER_DEADLINE_S": f"http://u:{ENV_PASSWORD}@h:1",
        "RESILIENT_PROVIDER_PROVIDERS": json.dumps([{"name": "yfinance", "timeout_s": -1,
                                                     "options": {"proxy": PROXY_URL}}]),
        "RESILIENT_PROVIDER_CACHE": json.dumps({"path": 5, "token": TOKEN}),
        "RESILIENT_PROVIDER_HEALTH__PROBE_SYMBOL": f"apikey={ENV_PASSWORD}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError) as caught:
            Settings()
        assert name in caught.value.message
        messages.append((name, str(caught.value), repr(caught.value)))
        monkeypatch.delenv(name)
    # A provider that refuses its options: the registry's ConfigError names the option only.
    with pytest.raises(ConfigError) as caught:
        check_health(Settings(providers=[{"name": "yfinance", "options": leaky_options()}]))
    messages.append(("create_provider", str(caught.value), repr(caught.value)))
    config = tmp_path / "leaky.yaml"
    config.write_text(f"deadline_s: {{api_key: {KEY}, proxy: '{PROXY_URL}'}}\n")
    for command in (["health"], ["stats"], ["info", "AAPL"]):
        code = main([*command, "--config", str(config)])
        out, err = capsys.readouterr()
        assert code == 2 and "deadline_s" in err
        messages.append((" ".join(command), out, err))
    for where, *texts in messages:
        for text in texts:
            assert_clean(text, where)
    report("secrets.config_errors", messages=len(messages))


def test_credentials_in_base_url_and_env_never_leave_the_real_adapters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: tuple[io.StringIO, io.StringIO],
        capsys: pytest.CaptureFixture[str]) -> None:
    with FakeYahooServer(seed=3) as yahoo:
        yahoo.faults.add(Fault.status(500), route="quoteSummary", symbols=["MSFT"])
        host = yahoo.base_url.split("://", 1)[1]
        file_url = f"http://user:{URL_PASSWORD}@{host}"
        env_url = f"http://user:{ENV_PASSWORD}@{host}"
        config = tmp_path / "config.yaml"
        config.write_text(
            "providers:\n"
            f"  - {{name: yfinance, options: {{base_url: '{file_url}'}}}}\n"
            "  - {name: yahooquery}\n"
            "provider_defaults: {timeout_s: 2, rate_limit_per_s: 0, retry: {max_attempts: 1}}\n"
            f"upstreams: {{yahoo: {UNPACED_YAHOO}}}\n"
            f"cache: {{backend: memory}}\nstats: {{path: '{tmp_path / 'stats.sqlite3'}'}}\n")
        # yahooquery gets its credentials from the environment, as a deployment would.
        monkeypatch.setenv("RESILIENT_PROVIDER_PROVIDERS", json.dumps([
            {"name": "yfinance", "options": {"base_url": file_url}},
            {"name": "yahooquery", "options": {"base_url": env_url}}]))
        shown: dict[str, str] = {}
        with ResilientProvider.from_config(config) as facade:
            answers = facade.batch_fetch(["AAPL", "MSFT", "NOSUCH"])
            shown |= {"facade": repr(facade), "providers": repr(facade.providers),
                      "settings": repr(facade.settings), "answers": repr(answers),
                      "stats": json.dumps(facade.get_reliability_stats(), default=str),
                      "prometheus": generate_latest(facade.prometheus_registry()).decode()}
        assert answers["AAPL"].success
        for fmt in ("text", "json"):
            for command in (["info", "AAPL", "MSFT", "--json"], ["health", "--json"],
                            ["health"], ["stats", "--json"]):
                main(["-vv", "--log-format", fmt, *command, "--config", str(config)])
                out, err = capsys.readouterr()
                shown[f"{fmt} {' '.join(command)}"] = out + err
        health = check_health(Settings.from_yaml(config))
        shown["health report"] = json.dumps(health.to_dict(), default=str)
    text, as_json = logs
    shown |= {"text log": text.getvalue(), "json log": as_json.getvalue()}
    assert yahoo.count(route="quoteSummary") > 0  # the adapters did reach the fake Yahoo
    for where, output in shown.items():
        assert_clean(output, where)
    report("secrets.real_adapters", outputs=len(shown),
           log_lines=len(shown["text log"].splitlines()))
