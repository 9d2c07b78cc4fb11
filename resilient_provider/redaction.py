"""Masking of secrets in text that leaves the library: log lines, error messages, reprs.

Secrets reach messages through URLs (``https://user:password@host``, ``?apikey=…``,
``Authorization: Bearer …``) that HTTP libraries put into their exceptions, and through
configuration values. Every boundary that turns foreign text into our text (error construction,
log formatting) passes it through :func:`redact`; every value echoed in a message goes through
:func:`safe_repr` (bounded in size, secret-looking keys masked); every log line written as text
goes through :func:`escape_controls`, so one record is one line.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "escape_controls", "is_secret_key", "redact", "safe_repr"]

MASK = "***"

# user:password@host in any URL-like string (lengths bounded: no quadratic backtracking on a
# long word). The password may itself hold '/', '@' or ':'
# (``http://user:p@ss/w@host:8080``), so it runs, greedily, to the last '@' of the word that is
# followed by something shaped like a host (and a port) and the URL's end or path: masking a
# little of a path that holds an '@' is the price of never leaving part of a password behind.
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)(?P<user>[^:/@\s]{0,256}):(?P<password>\S{1,256})"
    r"@(?=(?:\[[0-9a-fA-F:.]+\]|[\w.-]*\w)(?::\d*)?(?:[/?#\s'\"),;>\]}]|$))"
)
# An HTTP authorization scheme and its credentials (a header echoed in an error or a log line).
_AUTH_SCHEME = re.compile(
    r"(?P<scheme>\b(?:bearer|basic|digest|token)\s+)(?P<token>[\w~+/.=-]+)", re.IGNORECASE
)
# key=value pairs whose key names a credential, in query strings, headers or plain text.
_SECRET_PARAM = re.compile(
    r"(?P<key>\b(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|password|passwd"
    r"|pwd|crumb|client[_-]?secret|authorization|proxy[_-]?authorization)\b\s*[=:]\s*)"
    r"(?P<value>[^&\s,;'\"]+)",
    re.IGNORECASE,
)
# Names of mapping keys whose values are credentials (or hold them, as a proxy URL does).
_SECRET_KEY = re.compile(
    r"pass|pwd|secret|token|auth|credential|cookie|crumb|session|proxy|proxies|private"
    r"|api[_-]?key|apikey|access[_-]?key|signature",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Return ``text`` with URL passwords, authorization credentials and credential-like
    parameters replaced by ``***``."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m['scheme']}{MASK}", text)
    return _SECRET_PARAM.sub(lambda m: f"{m['key']}{MASK}", text)


def is_secret_key(key: object) -> bool:
    """True when a mapping key's name says its value is a credential (``api_key``, ``proxy``)."""
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def _escape(char: str) -> str:
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


def escape_controls(text: str) -> str:
    """``text`` with every character that is not printable (line breaks, ``\\r``, escape
    sequences, U+2028, bidi overrides, lone surrogates) written as its backslash escape, so the
    text is one line that shows what it holds and cannot pass for another log record."""
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


#: How much of a long string safe_repr redacts (and so shows at most, before cutting).
_REDACT_SPAN = 4096


class _SafeRepr(reprlib.Repr):
    """reprlib's bounded repr, never raising, with the values of secret-looking keys masked."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 4
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = 6
        self.maxstring = self.maxother = 60
        self.maxlong = 40

    def repr_str(self, x: str, level: int) -> str:
        # Redacted before it is cut: cutting first could leave a password without the URL
        # around it that redact() recognises.
        return super().repr_str(redact(x[:_REDACT_SPAN]), level)

    def repr_int(self, x: int, level: int) -> str:
        # repr() of an int of more than 4300 digits raises ValueError (CVE-2020-10735).
        if x.bit_length() > 128:
            return f"<int of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)

    def repr_dict(self, x: dict[Any, Any], level: int) -> str:
        return self._mapping(x, level)

    def repr_instance(self, x: Any, level: int) -> str:
        if isinstance(x, Mapping):
            return self._mapping(x, level)
        try:
            return super().repr_instance(x, level)
        except Exception:  # noqa: BLE001 - a foreign __repr__ may raise anything
            return f"<{type(x).__name__} object>"

    def _mapping(self, x: Mapping[Any, Any], level: int) -> str:
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        items = []
        for count, key in enumerate(x):
            if count >= self.maxdict:
                items.append("...")
                break
            shown = MASK if is_secret_key(key) else self.repr1(x[key], level - 1)
            items.append(f"{self.repr1(key, level - 1)}: {shown}")
        return "{" + ", ".join(items) + "}"


_SAFE_REPR = _SafeRepr()


def safe_repr(value: object, limit: int = 80) -> str:
    """A repr of ``value`` to echo in a message: bounded in size and depth (a YAML alias bomb
    or a 5,000-digit int is shown in a few characters, without building its full repr), the
    values of secret-looking keys masked, URL passwords and tokens redacted, one line."""
    try:
        text = _SAFE_REPR.repr(value)
    except Exception:  # noqa: BLE001 - a foreign __repr__ may raise anything
        text = f"<{type(value).__name__} object>"
    text = escape_controls(redact(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."
