"""URL settings checked where they are loaded, with a suggestion for the usual slips.

A URL without its scheme (``localhost:8000``) parses as the scheme ``localhost`` with no host,
so an adapter would only fail at its first request; these checks refuse it while the
configuration is read, and say what was probably meant (``http://localhost:8000``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from ..redaction import redact, safe_repr

__all__ = ["HTTP_SCHEMES", "URL_OPTIONS", "check_http_url", "check_url_options"]

#: The schemes an HTTP base URL may have.
HTTP_SCHEMES = ("http", "https")

#: Provider options that hold an HTTP base URL, whichever provider they are given to.
URL_OPTIONS = ("base_url",)

_EXAMPLE = "'http://127.0.0.1:8765'"


def check_http_url(value: object) -> str:
    """``value`` if it is an ``http://`` or ``https://`` URL with a host (and a valid port);
    else ValueError saying what is wrong, showing the value (passwords masked) and, when one
    is evident, the URL probably meant."""
    if not isinstance(value, str):
        raise ValueError(f"must be an http:// or https:// URL given as a string, e.g. {_EXAMPLE}, "
                         f"got {safe_repr(value)}")
    problem = _problem(value)
    if problem is None:
        return value
    suggestion = _suggestion(value)
    hint = f"did you mean {_shown(suggestion)}?" if suggestion else f"e.g. {_EXAMPLE}"
    raise ValueError(f"must be an http:// or https:// URL with a host, got {_shown(value)} "
                     f"({problem}); {hint}")


def check_url_options(options: Mapping[str, Any]) -> None:
    """Raise pydantic's ValidationError located at the bad key (``options.base_url``) for a
    URL option in ``options`` that :func:`check_http_url` refuses; None values mean unset."""
    for key in URL_OPTIONS:
        value = options.get(key)
        if value is None:
            continue
        try:
            check_http_url(value)
        except ValueError as exc:
            # Raised inside a field validator, pydantic prefixes this location with the
            # field's own (providers.<entry>.options), so the message names the whole path.
            raise ValidationError.from_exception_data("options", [
                {"type": "value_error", "loc": (key,), "input": value, "ctx": {"error": exc}},
            ]) from None


def _problem(value: str) -> str | None:
    """What makes ``value`` no http(s) URL with a host, or None when it is one."""
    if value != value.strip() or any(char.isspace() for char in value):
        return "white space in it"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0 to 65535
    except ValueError as exc:
        return f"{exc}"
    if "://" not in value:
        return "no scheme"
    if parts.scheme not in HTTP_SCHEMES:
        return f"scheme {safe_repr(parts.scheme)}"
    if not parts.hostname:
        return "no host"
    return None


def _suggestion(value: str) -> str | None:
    """The URL ``value`` probably meant: a missing ``http://`` added, a mistyped scheme
    corrected; None when no fix is evident (or the fix would not be valid either)."""
    text = value.strip()
    if "://" in text:
        scheme, rest = text.split("://", 1)
        close = difflib.get_close_matches(scheme.lower(), HTTP_SCHEMES, n=1, cutoff=0.6)
        candidate = f"{close[0]}://{rest}" if close else None
    else:
        candidate = "http://" + text.removeprefix("//")
    if candidate is None or candidate == value or _problem(candidate) is not None:
        return None
    return candidate


def _shown(url: str) -> str:
    """``url`` quoted for a message: bounded, control characters escaped, password masked."""
    return redact(safe_repr(url, limit=200))

