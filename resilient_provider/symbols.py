"""Ticker symbol normalisation and validation, done before a symbol reaches any I/O.

A symbol ends up in URL paths (yfinance puts it there unencoded: ``AAPL/../../v7/…`` would reach
another endpoint), cache keys, file names and log lines, so only Yahoo's own grammar passes:

* an optional ``^`` (indices: ``^GSPC``),
* a body of ASCII letters, digits and ``. - &`` that starts and ends with a letter or digit
  (``BRK-B``, ``0700.HK``, ``HISU-U.TO``, ``M&M.NS``),
* an optional ``=`` suffix of one or two letters (``EURUSD=X``, ``CL=F``),
* at most :data:`MAX_SYMBOL_LENGTH` characters, and no ``..``.

ASCII is checked *before* upper-casing, because the long s (U+017F) upper-cases to ``S``:
``'\u017fPY'.upper() == 'SPY'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import InvalidSymbolError
from .redaction import safe_repr

MAX_SYMBOL_LENGTH = 32

_SYMBOL = re.compile(r"\^?[A-Z0-9](?:[A-Z0-9.&-]*[A-Z0-9])?(?:=[A-Z]{1,2})?")


def _show(value: object) -> str:
    """A short, safe rendering of a rejected value for an error message (bounded whatever the
    value, one line, secrets masked)."""
    return safe_repr(value, 60)


def normalize_symbol(value: object) -> str:
    """Return ``value`` stripped and upper-cased, or raise :class:`InvalidSymbolError`.

    >>> normalize_symbol(" brk-b ")
    'BRK-B'
    """
    if not isinstance(value, str):
        raise InvalidSymbolError(
            f"invalid symbol {_show(value)}: expected a string, got {type(value).__name__}"
        )
    stripped = value.strip()
    if not stripped:
        raise InvalidSymbolError(f"invalid symbol {_show(value)}: empty")
    if len(stripped) > MAX_SYMBOL_LENGTH:
        raise InvalidSymbolError(
            f"invalid symbol {_show(value)}: longer than {MAX_SYMBOL_LENGTH} characters"
        )
    if not stripped.isascii():
        raise InvalidSymbolError(f"invalid symbol {_show(value)}: only ASCII characters allowed")
    symbol = stripped.upper()
    if ".." in symbol or not _SYMBOL.fullmatch(symbol):
        raise InvalidSymbolError(
            f"invalid symbol {_show(value)}: not a Yahoo ticker symbol "
            "(letters, digits and . - & with an optional ^ prefix or =X suffix)"
        )
    return symbol


def normalize_symbols(values: Iterable[object]) -> list[str]:
    """Normalise every symbol of ``values`` (order kept, duplicates kept)."""
    if isinstance(values, str | bytes):
        raise InvalidSymbolError(
            f"invalid symbols {_show(values)}: expected a sequence of symbols, not one string"
        )
    return [normalize_symbol(v) for v in values]
