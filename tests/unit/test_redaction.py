"""redact, safe_repr and escape_controls: what leaves the library shows no credential, stays
small whatever the value, and stays on one line."""

from __future__ import annotations

import time

import pytest

from resilient_provider.redaction import escape_controls, is_secret_key, redact, safe_repr


@pytest.mark.parametrize(("text", "secret", "kept"), [
    ("http://user:p@ss/w@host:8080", "ss/w", "host:8080"),
    ("proxy http://user:s3cr/t@proxy:8080 refused", "s3cr", "proxy:8080 refused"),
    ("socks5h://u:pa:ss@[::1]:1080/x", "pa:ss", "[::1]:1080/x"),
    ("'https://bob:hunter2@example.invalid/v7'", "hunter2", "example.invalid/v7'"),
    ("Authorization: Bearer eyJhbGciOi.J9x-y_z", "eyJhbGciOi", "Authorization:"),
    ("headers={'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz", "headers="),
    ("sent bearer abc123def", "abc123def", "sent bearer"),
])
def test_redact_masks_the_whole_password_or_token(text: str, secret: str, kept: str) -> None:
    redacted = redact(text)
    assert secret not in redacted and "***" in redacted
    assert kept in redacted


def test_redact_leaves_urls_without_credentials_alone() -> None:
    for text in ("http://host:8080/x", "GET https://query2.finance.yahoo.com/v7/finance/quote",
                 "mail me at a@b.example", "ratio 3:2 @ 10"):
        assert redact(text) == text


def test_redact_is_linear_on_long_words() -> None:
    started = time.perf_counter()
    for text in ("a" * 200_000, "a://b:" * 20_000, "x@" * 100_000, "http://u:" + "@" * 100_000):
        redact(text)
    assert time.perf_counter() - started < 5  # quadratic backtracking took minutes


def test_safe_repr_masks_secret_keys_at_any_depth() -> None:
    shown = safe_repr({"options": {"api_key": "K3Y", "proxy": "http://u:P4SS@p:1"},
                       "base_url": "http://u:PW@h", "n": 1}, limit=500)
    assert "K3Y" not in shown and "P4SS" not in shown and "PW" not in shown
    assert "'api_key': ***" in shown and "'n': 1" in shown


def test_safe_repr_is_bounded_whatever_the_value() -> None:
    bomb: list[object] = ["lol"]
    for _ in range(30):  # 10**30 leaves once expanded
        bomb = [bomb] * 10
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    for value in (bomb, deep, 10**5000, "x" * 10**6, {str(i): i for i in range(10**5)}):
        assert len(safe_repr(value)) <= 80
    assert "5001 digits" in safe_repr(10**5000)


def test_safe_repr_survives_a_broken_repr() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert safe_repr(Broken()).startswith("<Broken")
    assert safe_repr([Broken()]).startswith("[<Broken")


def test_safe_repr_is_one_line() -> None:
    assert safe_repr("a\nb\u2028c").isprintable()


@pytest.mark.parametrize("key", ["api_key", "apiKey", "token", "password", "client_secret",
                                 "auth", "Authorization", "proxy", "proxies", "cookies"])
def test_secret_looking_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["base_url", "timeout_s", "name", "max_workers", 3])
def test_ordinary_keys(key: object) -> None:
    assert not is_secret_key(key)


def test_escape_controls_keeps_printable_text() -> None:
    assert escape_controls("AAPL: Quote not found — 株") == "AAPL: Quote not found — 株"
    assert escape_controls("a\r\nb") == "a\\r\\nb"


def test_safe_repr_redacts_a_long_string_before_cutting_it() -> None:
    message = "curl: (56) CONNECT via https://user:Qz0000@[::1]:3128 refused, " + "x" * 100
    assert "Qz0000" not in safe_repr({"note": message}, limit=10_000)
