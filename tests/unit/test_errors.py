"""The error taxonomy: stable codes, hints, retriable or not, health-relevant or not."""

from __future__ import annotations

import pytest

from resilient_provider import errors as e


def _all_classes() -> list[type[e.ResilientProviderError]]:
    return [getattr(e, name) for name in e.__all__]


def test_every_class_has_a_unique_code_and_a_hint() -> None:
    classes = _all_classes()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert all(c.hint for c in classes if c is not e.ResilientProviderError and c is not e.ProviderError)


@pytest.mark.parametrize("cls", [e.NetworkError, e.ProviderTimeoutError, e.ServerError, e.RateLimitError,
                                 e.DataContractError, e.AuthenticationError, e.ProviderUnavailableError])
def test_provider_health_failures_are_retriable_and_counted(cls: type[e.ResilientProviderError]) -> None:
    assert cls.retriable and cls.counts_against_provider
    assert issubclass(cls, e.ProviderUnavailableError)


@pytest.mark.parametrize("cls", [e.SymbolNotFoundError, e.InvalidSymbolError, e.ConfigError,
                                 e.CircuitOpenError, e.DeadlineExceededError, e.ProviderNotInstalledError])
def test_final_errors_are_neither_retried_nor_counted(cls: type[e.ResilientProviderError]) -> None:
    assert not cls.retriable and not cls.counts_against_provider


def test_caller_errors_are_value_errors() -> None:
    assert issubclass(e.InvalidSymbolError, ValueError) and issubclass(e.ConfigError, ValueError)


def test_rate_limit_keeps_retry_after() -> None:
    assert e.RateLimitError("429", retry_after=12.5).retry_after == 12.5


def test_with_message_keeps_class_and_attributes() -> None:
    original = e.RateLimitError("429", retry_after=3, provider="p")
    copy = original.with_message("a: rate limited")
    assert type(copy) is e.RateLimitError and copy.retry_after == 3 and copy.provider == "p"
    assert str(copy) == "a: rate limited" and str(original) == "429"


def test_messages_are_redacted_at_construction() -> None:
    err = e.NetworkError("failed: https://u:pw@h/x?token=abc")
    assert "pw" not in str(err) and "abc" not in str(err)
