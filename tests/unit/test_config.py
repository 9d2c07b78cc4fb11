"""Settings: validation at the edge, durations, provider defaults, env overrides, config.yaml."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import annotated_types
import platformdirs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from resilient_provider.config import (
    DEFAULT_PROVIDER_NAMES,
    BreakerSettings,
    CacheSettings,
    ProviderPolicy,
    ProviderSettings,
    RetrySettings,
    Settings,
    parse_duration,
)
from resilient_provider.errors import ConfigError

CONFIG_YAML = Path(__file__).resolve().parents[2] / "config.yaml"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# The autouse env fixture is function-scoped; re-running it per example is harmless.
property_test = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's RESILIENT_PROVIDER_* variables (any case) or cache dir."""
    for key in list(os.environ):
        if key.upper().startswith("RESILIENT_PROVIDER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def config_error(**values: Any) -> str:
    """The message of the ConfigError that ``Settings(**values)`` raises."""
    with pytest.raises(ConfigError) as caught:
        Settings(**values)
    return caught.value.message


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- parse_duration ------------------------------------------------------------------------------


@given(st.one_of(st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False)))
def test_parse_duration_returns_a_number_as_seconds_unchanged(number: float) -> None:
    assert parse_duration(number) == float(number)


@given(st.floats(0, 1e9, allow_nan=False), st.sampled_from(sorted(UNITS)))
def test_parse_duration_of_number_with_unit_is_number_times_unit(number: float, unit: str) -> None:
    assert parse_duration(f"{number!r}{unit}") == number * UNITS[unit]


@given(st.floats(0, 1e9, allow_nan=False))
def test_parse_duration_of_milliseconds_is_number_over_1000(number: float) -> None:
    assert parse_duration(f"{number!r}ms") == number / 1000


@given(st.floats(0, 1e12, allow_nan=False))
def test_parse_duration_of_numeric_string_equals_the_number(number: float) -> None:
    assert parse_duration(repr(number)) == number


@given(st.text(max_size=20))
def test_parse_duration_of_any_text_is_finite_seconds_or_config_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ConfigError:
        return
    assert math.isfinite(seconds)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("30s", 30.0), ("5m", 300.0), ("48h", 172800.0), ("7d", 604800.0),
     ("0.1s", 0.1), ("1.5h", 5400.0), (".5s", 0.5), ("30", 30.0), (" 30 s ", 30.0),
     ("\t2m\n", 120.0), ("-1s", -1.0)],
)
def test_parse_duration_reads_documented_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "value",
    [True, False, None, "", "abc", "5 minutes", "1w", "5M", "1h30m", "nan", "inf", "s",
     float("nan"), float("inf"), 10**400, "1e400s", [1], {"s": 1}],
)
def test_parse_duration_rejects_anything_else_naming_accepted_forms(value: object) -> None:
    with pytest.raises(ConfigError, match=r"seconds as a number .*'250ms', '30s', '5m'"):
        parse_duration(value)


def test_parse_duration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")


# --- defaults, immutability, serialisation -------------------------------------------------------


def test_settings_without_arguments_use_documented_defaults() -> None:
    s = Settings()
    assert [p.name for p in s.providers] == ["yfinance", "yahooquery"] == list(DEFAULT_PROVIDER_NAMES)
    assert s.provider_defaults == ProviderPolicy(timeout_s=10.0)
    assert s.provider_defaults.retry == RetrySettings(
        max_attempts=3, base_delay_s=0.5, multiplier=2.0, max_delay_s=8.0, jitter=0.25,
        max_retry_after_s=30.0)
    assert s.provider_defaults.breaker == BreakerSettings(
        failure_threshold=5, window_s=60.0, reset_timeout_s=30.0, success_threshold=2,
        half_open_max_calls=1)
    assert s.cache == CacheSettings(backend="disk", path=None, fresh_for=48 * 3600,
                                    max_stale_age=7 * 86400, read_through=False)
    assert (s.enable_fallback, s.enable_stale_cache) == (True, True)
    assert (s.deadline_s, s.max_concurrent_requests) == (30.0, 8)


def test_default_providers_carry_provider_defaults() -> None:
    s = Settings()
    assert all(p.retry == s.provider_defaults.retry for p in s.providers)
    assert all(p.options == {} for p in s.providers)


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValidationError, match="frozen"):
        s.deadline_s = 1.0
    with pytest.raises(ValidationError, match="frozen"):
        s.cache.backend = "memory"


def test_equal_settings_hash_equal_even_with_option_dicts() -> None:
    a = Settings(providers=[{"name": "x", "options": {"region": ["eu"]}}])
    b = Settings(providers=[{"name": "x", "options": {"region": ["eu"]}}])
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b, Settings()}) == 2


def test_json_dump_validates_back_to_equal_settings() -> None:
    s = Settings(cache={"path": "/tmp/x", "fresh_for": "1h"}, providers=["yahooquery"])
    dumped = s.model_dump(mode="json")
    assert dumped["cache"]["path"] == "/tmp/x"
    assert dumped["shared"]["redis_url"] == "**********"  # a secret: never dumped
    dumped["shared"]["redis_url"] = s.shared.redis_url.get_secret_value()
    assert Settings(**dumped) == s


# --- durations in settings -----------------------------------------------------------------------


def test_duration_settings_accept_unit_strings() -> None:
    s = Settings(deadline_s="250ms", cache={"fresh_for": "1.5h", "max_stale_age": "7d"},
                 provider_defaults={"timeout_s": "2m", "retry": {"base_delay_s": "30"}})
    assert s.deadline_s == 0.25
    assert (s.cache.fresh_for, s.cache.max_stale_age) == (5400.0, 604800.0)
    assert s.provider_defaults.timeout_s == 120.0
    assert s.provider_defaults.retry.base_delay_s == 30.0


@pytest.mark.parametrize("value", [0.1, "0.1", "0.1s", "100ms"])
def test_duration_settings_keep_fractions_of_a_second(value: object) -> None:
    assert Settings(provider_defaults={"retry": {"jitter": value}}).provider_defaults.retry.jitter == 0.1


def test_bad_duration_setting_names_field_value_and_accepted_forms() -> None:
    message = config_error(cache={"fresh_for": "2 days"})
    assert "cache.fresh_for" in message
    assert "'2 days'" in message
    assert "ms, s, m, h or d" in message


def test_boolean_is_not_a_duration() -> None:
    assert "deadline_s" in config_error(deadline_s=True)


# --- ranges and types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "path", "allowed", "got"),
    [
        ({"provider_defaults": {"retry": {"max_attempts": 11}}},
         "provider_defaults.retry.max_attempts", "must be between 1 and 10", "11"),
        ({"provider_defaults": {"retry": {"max_attempts": 0}}},
         "provider_defaults.retry.max_attempts", "must be between 1 and 10", "0"),
        ({"provider_defaults": {"retry": {"multiplier": 0.5}}},
         "provider_defaults.retry.multiplier", "must be between 1 and 10", "0.5"),
        ({"provider_defaults": {"retry": {"max_delay_s": "11m"}}},
         "provider_defaults.retry.max_delay_s", "must be between 0 and 600", "660.0"),
        ({"provider_defaults": {"timeout_s": 0}},
         "provider_defaults.timeout_s", "must be > 0 and <= 600", "0"),
        ({"provider_defaults": {"breaker": {"window_s": "2d"}}},
         "provider_defaults.breaker.window_s", "must be > 0 and <= 86400", "172800.0"),
        ({"provider_defaults": {"breaker": {"failure_threshold": 1001}}},
         "provider_defaults.breaker.failure_threshold", "must be between 1 and 1000", "1001"),
        ({"deadline_s": 3601}, "deadline_s", "must be > 0 and <= 3600", "3601"),
        ({"max_concurrent_requests": 0}, "max_concurrent_requests", "must be between 1 and 1024", "0"),
        ({"cache": {"fresh_for": -1}}, "cache.fresh_for", "must be >= 0", "-1"),
    ],
)
def test_out_of_range_value_names_field_range_and_value(
    values: dict[str, Any], path: str, allowed: str, got: str
) -> None:
    message = config_error(**values)
    assert f"{path}: {allowed}" in message
    assert f"got {got}" in message


@property_test
@given(st.integers(-50, 50))
def test_max_attempts_is_accepted_exactly_within_1_to_10(attempts: int) -> None:
    values = {"provider_defaults": {"retry": {"max_attempts": attempts}}}
    if 1 <= attempts <= 10:
        assert Settings(**values).provider_defaults.retry.max_attempts == attempts
    else:
        assert "between 1 and 10" in config_error(**values)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"enable_fallback": "maybe"}, "enable_fallback: must be true or false, got 'maybe'"),
        ({"max_concurrent_requests": "many"},
         "max_concurrent_requests: must be a whole number between 1 and 1024, got 'many'"),
        ({"provider_defaults": {"retry": {"max_attempts": 2.5}}}, "must be a whole number"),
        ({"cache": {"backend": "redis"}},
         "cache.backend: must be one of 'disk' or 'memory', got 'redis'"),
        ({"cache": "memory"}, "cache: must be a mapping of settings, got 'memory'"),
        ({"providers": "yfinance"}, "providers: must be a list, got 'yfinance'"),
    ],
)
def test_wrong_type_names_field_and_what_is_expected(values: dict[str, Any], expected: str) -> None:
    assert expected in config_error(**values)


def test_every_problem_is_reported_at_once() -> None:
    message = config_error(deadline_s=0, cache={"backend": "redis"}, max_concurrent_requests=0)
    assert "3 problems" in message
    for path in ("deadline_s", "cache.backend", "max_concurrent_requests"):
        assert path in message


def test_config_error_keeps_the_pydantic_error_as_cause() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(deadline_s=0)
    assert isinstance(caught.value.__cause__, ValidationError)
    assert isinstance(caught.value, ValueError)


# --- unknown keys --------------------------------------------------------------------------------


def test_unknown_top_level_key_is_rejected_by_name_with_suggestion() -> None:
    message = config_error(dealine_s=5)
    assert "dealine_s: unknown setting 'dealine_s'" in message
    assert "did you mean 'deadline_s'" in message


def test_unknown_nested_key_is_rejected_with_its_path() -> None:
    message = config_error(provider_defaults={"retry": {"attempts": 2}})
    assert "provider_defaults.retry.attempts: unknown setting 'attempts'" in message
    assert "max_attempts" in message


def test_unknown_key_in_provider_entry_is_rejected_under_provider_name() -> None:
    message = config_error(providers=[{"name": "yfinance", "timeout": 5}])
    assert "providers[yfinance].timeout: unknown setting 'timeout'" in message


def test_underscore_keys_do_not_reach_pydantic_settings_options(tmp_path: Path) -> None:
    env_file = write(tmp_path, "RESILIENT_PROVIDER_DEADLINE_S=1\n", ".env")
    assert "unknown setting '_env_file'" in config_error(_env_file=str(env_file))


# --- providers -----------------------------------------------------------------------------------


def test_provider_entry_may_be_a_plain_name() -> None:
    s = Settings(providers=["yahooquery", {"name": "yfinance"}])
    assert [p.name for p in s.providers] == ["yahooquery", "yfinance"]
    assert s.providers[0] == ProviderSettings(name="yahooquery")


def test_empty_provider_list_is_allowed() -> None:
    assert Settings(providers=[]).providers == []


def test_duplicate_provider_names_are_rejected_naming_the_duplicate() -> None:
    message = config_error(providers=["yfinance", {"name": "yfinance", "timeout_s": 3}])
    assert "providers: provider 'yfinance' is listed twice" in message


@pytest.mark.parametrize("name", ["YFinance", "1yahoo", "", "a b", "x" * 65])
def test_provider_name_must_be_a_lower_case_identifier(name: str) -> None:
    assert "must be a lower-case name" in config_error(providers=[name])


def test_provider_entry_without_a_name_is_rejected() -> None:
    assert "providers[0].name: is required" in config_error(providers=[{"timeout_s": 3}])


def test_error_in_provider_entry_is_named_by_the_provider() -> None:
    message = config_error(providers=["yfinance", {"name": "yahooquery", "retry": {"max_attempts": 50}}])
    assert "providers[yahooquery].retry.max_attempts: must be between 1 and 10, got 50" in message


def test_bad_provider_default_is_reported_once_not_per_provider() -> None:
    message = config_error(provider_defaults={"retry": {"max_attempts": 50}})
    assert message.count("max_attempts") == 1
    assert "provider_defaults.retry.max_attempts" in message


def test_entries_inherit_provider_defaults_key_by_key() -> None:
    s = Settings(
        provider_defaults={"timeout_s": 4, "retry": {"jitter": 0, "max_attempts": 5},
                           "breaker": {"failure_threshold": 9}},
        providers=["yfinance", {"name": "yahooquery", "retry": {"max_attempts": 2}}],
    )
    yfinance, yahooquery = s.providers
    assert yfinance.retry.max_attempts == 5
    assert yahooquery.retry.max_attempts == 2
    assert yahooquery.retry.jitter == 0  # from provider_defaults
    assert yahooquery.retry.base_delay_s == 0.5  # from the model default
    assert yahooquery.timeout_s == 4
    assert yahooquery.breaker.failure_threshold == 9
    assert yahooquery.breaker.window_s == 60.0


def test_absent_provider_list_gets_default_names_with_provider_defaults() -> None:
    s = Settings(provider_defaults={"timeout_s": 3})
    assert [p.name for p in s.providers] == list(DEFAULT_PROVIDER_NAMES)
    assert all(p.timeout_s == 3 for p in s.providers)


def test_model_instances_given_in_code_inherit_like_mappings() -> None:
    s = Settings(provider_defaults=ProviderPolicy(timeout_s=3),
                 providers=[ProviderSettings(name="x", retry=RetrySettings(max_attempts=1))])
    assert s.providers[0].timeout_s == 3
    assert s.providers[0].retry.max_attempts == 1


def test_provider_options_are_kept_and_masked_in_repr() -> None:
    s = Settings(providers=[{"name": "paid", "options": {"apikey": "s3cret", "region": "eu"}}])
    assert s.providers[0].options == {"apikey": "s3cret", "region": "eu"}
    assert "s3cret" not in repr(s)
    assert "apikey" in repr(s)


def test_policy_for_returns_the_named_entry() -> None:
    s = Settings(providers=["yfinance", {"name": "yahooquery", "timeout_s": 20}])
    policy = s.policy_for("yahooquery")
    assert policy.timeout_s == 20
    assert policy is s.providers[1]


def test_policy_for_an_unlisted_provider_returns_provider_defaults() -> None:
    s = Settings(provider_defaults={"timeout_s": 7})
    assert s.policy_for("my-scraper") is s.provider_defaults


# --- cache ---------------------------------------------------------------------------------------


def test_max_stale_age_shorter_than_fresh_for_is_rejected_naming_both() -> None:
    message = config_error(cache={"fresh_for": "2d", "max_stale_age": "1d"})
    assert "cache: max_stale_age (86400 s) must be >= fresh_for (172800 s)" in message


def test_max_stale_age_equal_to_fresh_for_is_allowed() -> None:
    assert Settings(cache={"fresh_for": "1h", "max_stale_age": 3600}).cache.max_stale_age == 3600


def test_cache_path_expands_the_home_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    s = Settings(cache={"path": "~/market-cache"})
    assert s.cache.path == tmp_path / "market-cache"
    assert s.cache.resolved_path() == tmp_path / "market-cache"


def test_unset_cache_path_resolves_to_user_cache_dir() -> None:
    resolved = Settings().cache.resolved_path()
    assert resolved == Path(platformdirs.user_cache_dir("resilient-provider")) / "info"


# --- environment overrides -----------------------------------------------------------------------


def test_env_overrides_a_top_level_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_DEADLINE_S", "5")
    assert Settings().deadline_s == 5.0


def test_env_switches_a_boolean_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_ENABLE_FALLBACK", "false")
    assert Settings().enable_fallback is False


def test_env_overrides_a_nested_setting_keeping_given_siblings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_CACHE__FRESH_FOR", "1h")
    s = Settings(cache={"backend": "memory", "fresh_for": "2h"})
    assert s.cache.fresh_for == 3600.0
    assert s.cache.backend == "memory"


def test_env_provider_defaults_reach_every_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_PROVIDER_DEFAULTS__RETRY__MAX_ATTEMPTS", "1")
    s = Settings(provider_defaults={"retry": {"jitter": 0}})
    assert [p.retry.max_attempts for p in s.providers] == [1, 1]
    assert s.provider_defaults.retry.jitter == 0


def test_env_provider_default_does_not_beat_an_entrys_own_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_PROVIDER_DEFAULTS__TIMEOUT_S", "5")
    s = Settings(providers=["yfinance", {"name": "yahooquery", "timeout_s": 20}])
    assert [p.timeout_s for p in s.providers] == [5, 20]


def test_env_replaces_the_provider_list_given_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_PROVIDERS", '["yahooquery"]')
    s = Settings(providers=["yfinance", "yahooquery"], provider_defaults={"timeout_s": 2})
    assert [(p.name, p.timeout_s) for p in s.providers] == [("yahooquery", 2)]


def test_env_beats_keyword_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_MAX_CONCURRENT_REQUESTS", "2")
    assert Settings(max_concurrent_requests=16).max_concurrent_requests == 2


def test_env_beats_the_yaml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path, "deadline_s: 10\ncache:\n  backend: memory\n")
    monkeypatch.setenv("RESILIENT_PROVIDER_DEADLINE_S", "5")
    monkeypatch.setenv("RESILIENT_PROVIDER_CACHE__READ_THROUGH", "true")
    s = Settings.from_yaml(path)
    assert s.deadline_s == 5.0
    assert (s.cache.backend, s.cache.read_through) == ("memory", True)


def test_given_values_beat_defaults(tmp_path: Path) -> None:
    assert Settings.from_yaml(write(tmp_path, "deadline_s: 10\n")).deadline_s == 10.0


def test_env_variable_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("resilient_provider_deadline_s", "7")
    assert Settings().deadline_s == 7.0


def test_unknown_prefixed_env_variable_is_rejected_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_ENABLE_FALBACK", "false")
    message = config_error()
    assert "unknown environment variable RESILIENT_PROVIDER_ENABLE_FALBACK" in message
    assert "did you mean RESILIENT_PROVIDER_ENABLE_FALLBACK" in message


@pytest.mark.parametrize(
    "name",
    ["RESILIENT_PROVIDER_CACHE__FRESHFOR", "RESILIENT_PROVIDER_DEADLINE_S__MAX",
     "RESILIENT_PROVIDER_PROVIDERS__0__NAME", "RESILIENT_PROVIDER_"],
)
def test_env_variable_naming_no_setting_is_rejected(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "1")
    assert f"unknown environment variable {name}" in config_error()


def test_unrelated_env_variables_do_not_affect_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    monkeypatch.setenv("RESILIENT_PROVIDERS_DEADLINE_S", "garbage")  # another prefix
    monkeypatch.setenv("DEADLINE_S", "garbage")
    monkeypatch.setenv("RESILIENT_PROVIDER_CONFIG", "/etc/resilient-provider.yaml")  # not a setting
    assert Settings() == defaults


def test_bad_env_value_names_the_variable_and_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_PROVIDER_DEFAULTS__RETRY__MAX_ATTEMPTS", "0")
    message = config_error()
    assert "provider_defaults.retry.max_attempts: must be between 1 and 10, got '0'" in message
    assert "set by environment variable RESILIENT_PROVIDER_PROVIDER_DEFAULTS__RETRY__MAX_ATTEMPTS" in message


def test_env_json_that_does_not_parse_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_PROVIDERS", "yahooquery,yfinance")
    message = config_error()
    assert "environment variable RESILIENT_PROVIDER_PROVIDERS could not be parsed" in message
    assert "JSON" in message


def test_dotenv_files_are_not_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(tmp_path, "RESILIENT_PROVIDER_DEADLINE_S=1\n", ".env")
    monkeypatch.chdir(tmp_path)
    assert Settings().deadline_s == 30.0


# --- from_yaml -----------------------------------------------------------------------------------


def test_from_yaml_reads_settings_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  - yahooquery\ncache:\n  fresh_for: 1h\n  max_stale_age: 2h\n")
    s = Settings.from_yaml(str(path))
    assert [p.name for p in s.providers] == ["yahooquery"]
    assert (s.cache.fresh_for, s.cache.max_stale_age) == (3600.0, 7200.0)


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n"])
def test_empty_yaml_file_means_all_defaults(tmp_path: Path, text: str) -> None:
    assert Settings.from_yaml(write(tmp_path, text)) == Settings()


def test_from_yaml_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="config file not found") as caught:
        Settings.from_yaml(missing)
    assert str(missing) in caught.value.message


def test_from_yaml_syntax_error_names_the_path_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "cache:\n  backend: [disk\n")
    with pytest.raises(ConfigError, match="is not valid YAML") as caught:
        Settings.from_yaml(path)
    assert str(path) in caught.value.message
    assert "line" in caught.value.message


@pytest.mark.parametrize(("text", "kind"), [("- yfinance\n", "list"), ("42\n", "int"), ("hi\n", "str")])
def test_from_yaml_top_level_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=f"top level must be a mapping of settings, got {kind}") as caught:
        Settings.from_yaml(path)
    assert str(path) in caught.value.message


def test_from_yaml_invalid_value_names_file_and_setting(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  - name: yahooquery\n    retry:\n      max_attempts: 20\n")
    with pytest.raises(ConfigError) as caught:
        Settings.from_yaml(path)
    assert str(path) in caught.value.message
    assert "providers[yahooquery].retry.max_attempts: must be between 1 and 10, got 20" in caught.value.message
    assert isinstance(caught.value.__cause__, ValidationError)


def test_from_yaml_non_text_key_is_an_unknown_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting '1'"):
        Settings.from_yaml(write(tmp_path, "1: x\n"))


# --- the shipped config.yaml ---------------------------------------------------------------------


def test_shipped_config_yaml_equals_the_defaults() -> None:
    assert Settings.from_yaml(CONFIG_YAML) == Settings()


def _documented_keys(text: str) -> dict[tuple[str, ...], str]:
    """Each key path in a YAML file mapped to the comments right above it and on its line."""
    keys: dict[tuple[str, ...], str] = {}
    stack: list[tuple[int, str]] = []
    comments: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped)
            continue
        match = re.match(r"^(?P<indent> *)(?P<dash>- )?(?P<key>[a-z_]+):(?P<rest>.*)$", line)
        if not match:
            comments = []
            continue
        indent = len(match["indent"]) + (2 if match["dash"] else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = (*(key for _, key in stack), match["key"])
        inline = match["rest"].partition("#")[2]
        keys.setdefault(path, " ".join([*comments, inline]))
        stack.append((indent, match["key"]))
        comments = []
    return keys


def _setting_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every leaf setting path of ``model`` with its FieldInfo (entries: their own fields only)."""
    paths: dict[tuple[str, ...], Any] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if prefix and prefix[-1] == "providers" and name in ProviderPolicy.model_fields:
            continue  # an entry's policy fields are documented under provider_defaults
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.update(_setting_paths(annotation, (*prefix, name)))
        elif name == "providers":
            paths.update(_setting_paths(ProviderSettings, (*prefix, name)))
        else:
            paths[(*prefix, name)] = field
    return paths


def test_shipped_config_yaml_lists_every_setting() -> None:
    documented = _documented_keys(CONFIG_YAML.read_text(encoding="utf-8"))
    missing = [".".join(p) for p in _setting_paths(Settings) if p not in documented]
    assert not missing, f"config.yaml lacks {missing}"


def test_shipped_config_yaml_comments_each_setting_with_its_bounds() -> None:
    documented = _documented_keys(CONFIG_YAML.read_text(encoding="utf-8"))
    for path, field in _setting_paths(Settings).items():
        comment = documented[path]
        assert comment.strip(), f"{'.'.join(path)} has no comment"
        bounds = [getattr(meta, attr) for meta in field.metadata for attr in ("ge", "gt", "le", "lt")
                  if isinstance(meta, annotated_types.BaseMetadata) and hasattr(meta, attr)]
        for bound in bounds:
            assert str(bound) in comment, f"{'.'.join(path)}: comment lacks bound {bound}"


# --- statistics, alerts, health, logging ---------------------------------------------------------


def test_stats_are_kept_in_the_users_state_directory_unless_a_path_is_given(
        tmp_path: Path) -> None:
    state = Path(platformdirs.user_state_dir("resilient-provider")) / "stats.sqlite3"
    assert str(state).startswith(os.environ["XDG_STATE_HOME"])  # the tests' own, not $HOME's
    assert Settings().stats_path() == state
    assert Settings(stats={"path": str(tmp_path / "s.db")}).stats_path() == tmp_path / "s.db"


@pytest.mark.parametrize("cache_path", ["~/rp-cache", "./cache", "/tmp/a/info", "/tmp/a/other"])
def test_the_default_store_is_one_per_user_whatever_the_cache_directory(cache_path: str) -> None:
    # Beside the cache directory it landed in $HOME for ~/rp-cache, in the working directory
    # for ./cache, and was shared by every configuration whose caches share a parent.
    default = Settings().stats_path()
    assert Settings(cache={"path": cache_path}).stats_path() == default
    assert default.parent.name == "resilient-provider"
    assert default.parent not in (Path.home(), Path.cwd(), Path(cache_path).expanduser().parent)


def test_monitoring_defaults_are_the_documented_ones() -> None:
    s = Settings()
    assert (s.stats.enabled, s.stats.flush_interval_s, s.stats.retention) == (True, 10.0, 30 * 86400.0)
    alerts = s.stats.alerts
    assert (alerts.fallback_usage_pct, alerts.breaker_open_s, alerts.error_rate_pct) == (10.0, 300.0, 1.0)
    assert (s.health.probe_symbol, s.health.timeout_s, s.logging.format) == ("SPY", 5.0, "text")


def test_a_probe_symbol_that_is_no_symbol_is_rejected_naming_it() -> None:
    message = config_error(health={"probe_symbol": "SPY/../x"})
    assert "health.probe_symbol" in message and "SPY/../x" in message


def test_the_probe_symbol_is_normalised() -> None:
    assert Settings(health={"probe_symbol": " qqq "}).health.probe_symbol == "QQQ"


def test_an_unknown_log_format_is_rejected_naming_the_choices() -> None:
    message = config_error(logging={"format": "xml"})
    assert "logging.format" in message and "'json'" in message


# --- hostile input: bounded, masked, always a ConfigError ----------------------------------------

BILLION_LAUGHS = "\n".join(
    ['  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
)


def test_a_yaml_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path: Path) -> None:
    # 10**10 strings once expanded. Before, the error message built the whole value's repr
    # (2.6 GB and growing); run in a child under a 1 GiB address-space cap so that cannot
    # take the machine down.
    config = write(tmp_path, f"deadline_s:\n{BILLION_LAUGHS}\n")
    script = ("import resource, sys\n"
              "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
              "from resilient_provider.config import ConfigError, Settings\n"
              "try:\n    Settings.from_yaml(sys.argv[1])\n"
              "except ConfigError as exc:\n    print(exc.message)\n")
    done = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "deadline_s" in done.stdout and "expands to more than" in done.stdout


def test_a_yaml_anchor_inside_itself_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"deadline_s\[1\]: the value contains itself"):
        Settings.from_yaml(write(tmp_path, "deadline_s: &a [1, *a]\n"))


def test_a_small_yaml_anchor_still_works(tmp_path: Path) -> None:
    settings = Settings.from_yaml(write(tmp_path, (
        "providers:\n  - {name: yfinance, retry: &patient {max_attempts: 5}}\n"
        "  - {name: yahooquery, retry: *patient}\n")))
    assert [p.retry.max_attempts for p in settings.providers] == [5, 5]


def test_a_5000_digit_integer_is_a_config_error(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    huge = "9" * 5000
    for setting in ("max_concurrent_requests", "deadline_s"):
        with pytest.raises(ConfigError, match=r"an integer of 5000 characters is too large"):
            Settings.from_yaml(write(tmp_path, f"{setting}: {huge}\n"))
        assert "digits" in config_error(**{setting: 10**5000})
        monkeypatch.setenv(f"RESILIENT_PROVIDER_{setting.upper()}", huge)
        assert f"RESILIENT_PROVIDER_{setting.upper()}" in config_error()
        monkeypatch.delenv(f"RESILIENT_PROVIDER_{setting.upper()}")


def test_5000_deep_nesting_is_a_config_error(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = {"a": deep}
    assert "nested more than" in config_error(deadline_s=deep)
    assert "nested more than" in config_error(providers=[{"name": "yfinance", "options": deep}])
    with pytest.raises(ConfigError, match=r"nested more than \d+ levels"):
        Settings.from_yaml(write(tmp_path, "deadline_s: " + "[" * 5000 + "]" * 5000 + "\n"))
    monkeypatch.setenv("RESILIENT_PROVIDER_PROVIDERS", "[" * 5000 + "]" * 5000)
    assert "RESILIENT_PROVIDER_PROVIDERS nests more than" in config_error()


@pytest.mark.parametrize("setting", ["cache", "stats"])
def test_a_nul_byte_in_a_path_is_a_config_error(setting: str) -> None:
    message = config_error(**{setting: {"path": "/tmp/a\x00b"}})
    assert f"{setting}.path: must be a filesystem path without NUL bytes" in message


def test_a_home_directory_that_does_not_exist_is_a_config_error() -> None:
    assert "cache.path: cannot expand ~" in config_error(cache={"path": "~no-such-user-x9/c"})


@pytest.mark.parametrize("name", ["PROVIDERS", "CACHE", "PROVIDER_DEFAULTS", "UPSTREAMS",
                                  "STATS", "CACHE__PATH"])
def test_an_env_override_of_null_is_a_config_error_naming_it(
        monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(f"RESILIENT_PROVIDER_{name}", "null")
    assert f"environment variable RESILIENT_PROVIDER_{name} is null" in config_error()


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("cache:\n  path: /tmp/caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.yaml is not UTF-8 text: byte 0xe9"):
        Settings.from_yaml(path)


def test_an_echoed_value_masks_secret_looking_keys() -> None:
    message = config_error(deadline_s={"api_key": "K3Y-1", "nested": {"password": "PW-2"},
                                       "proxy": "http://u:PX-3@proxy:8080"})
    assert "deadline_s" in message and "'api_key': ***" in message
    assert not any(secret in message for secret in ("K3Y-1", "PW-2", "PX-3"))


def test_an_echoed_url_has_its_password_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_DEADLINE_S", "http://user:s3cr/t@proxy:8080")
    message = config_error()
    assert "RESILIENT_PROVIDER_DEADLINE_S" in message and "s3cr" not in message


BAD_CONFIGS = {
    "bomb": f"deadline_s:\n{BILLION_LAUGHS}\n",
    "huge-int": "max_concurrent_requests: " + "9" * 5000 + "\n",
    "deep": "deadline_s: " + "[" * 5000 + "]" * 5000 + "\n",
    "nul-path": 'cache:\n  path: "/tmp/a\\0b"\n',
    "recursive": "deadline_s: &a [*a]\n",
}


@pytest.mark.parametrize("command", [["info", "AAPL"], ["health"], ["stats"]])
@pytest.mark.parametrize("kind", sorted(BAD_CONFIGS))
def test_the_cli_answers_a_bad_config_with_exit_2_and_no_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, command: list[str]) -> None:
    from resilient_provider.cli import main

    config = write(tmp_path, BAD_CONFIGS[kind])
    assert main([*command, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resilient-provider: error: ") and "Traceback" not in err


def test_a_config_file_with_a_control_character_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "control.yaml"
    path.write_bytes(b"deadline_s: 5\x1f\n")  # PyYAML's reader refuses it as it opens
    with pytest.raises(ConfigError, match=r"control.yaml is not valid YAML"):
        Settings.from_yaml(path)


def test_a_cross_field_error_names_the_env_variable_that_caused_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_PROVIDER_CACHE__FRESH_FOR", "30d")
    message = config_error()
    assert "max_stale_age" in message and "RESILIENT_PROVIDER_CACHE__FRESH_FOR" in message


def test_a_key_with_a_control_character_is_shown_escaped() -> None:
    message = config_error(provider_defaults={"\x1b[2J": 1})
    assert "unknown setting '\\x1b[2J'" in message and "\x1b" not in message


@pytest.mark.parametrize("command", [["info", "AAPL"], ["health"]])
def test_the_cli_answers_an_option_the_adapter_refuses_with_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    from resilient_provider.cli import main

    config = write(tmp_path, "providers:\n  - {name: yahooquery, options: {chunk_size: 0}}\n")
    assert main([*command, "--config", str(config)]) == 2  # was a ValueError traceback
    err = capsys.readouterr().err
    assert "providers[yahooquery].options: chunk_size must be >= 1" in err
