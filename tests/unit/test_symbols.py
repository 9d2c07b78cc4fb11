"""Symbol normalisation and validation: Yahoo's grammar in, everything else out before I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resilient_provider.errors import InvalidSymbolError
from resilient_provider.symbols import MAX_SYMBOL_LENGTH, normalize_symbol, normalize_symbols

VALID = ["AAPL", "BRK-B", "^GSPC", "EURUSD=X", "CL=F", "0700.HK", "BTC-USD", "0P000071W8.TO",
         "HISU-U.TO", "M&M.NS", "^VXAPL", "GC=F", "BRK.B", "A"]


@pytest.mark.parametrize("symbol", VALID)
def test_yahoo_symbols_are_accepted(symbol: str) -> None:
    assert normalize_symbol(symbol) == symbol


def test_symbols_are_stripped_and_upper_cased() -> None:
    assert normalize_symbol("  brk-b\n") == "BRK-B"
    assert normalize_symbol("eurusd=x") == "EURUSD=X"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "expected a string, got NoneType"),
        (42, "expected a string, got int"),
        (b"AAPL", "expected a string, got bytes"),
        ("", "empty"),
        ("   ", "empty"),
        ("A" * (MAX_SYMBOL_LENGTH + 1), "longer than"),
        ("AAPL/../../v7/finance/quote", "not a Yahoo ticker symbol"),
        ("AA..PL", "not a Yahoo ticker symbol"),
        ("ſPY", "only ASCII"),
        ("AAPL MSFT", "not a Yahoo ticker symbol"),
        ("-AAPL", "not a Yahoo ticker symbol"),
        ("AAPL.", "not a Yahoo ticker symbol"),
        ("^", "not a Yahoo ticker symbol"),
        ("EUR=USD=X", "not a Yahoo ticker symbol"),
        ("AAPL\nINFO fake log line", "not a Yahoo ticker symbol"),
        ("AAPL?x=1", "not a Yahoo ticker symbol"),
    ],
)
def test_bad_input_raises_invalid_symbol_naming_the_value(value: object, reason: str) -> None:
    with pytest.raises(InvalidSymbolError) as info:
        normalize_symbol(value)
    assert reason in str(info.value)
    assert repr(value)[:20] in str(info.value)
    assert isinstance(info.value, ValueError)


def test_long_bad_values_are_shortened_in_the_message() -> None:
    with pytest.raises(InvalidSymbolError) as info:
        normalize_symbol("X" * 5000)
    assert len(str(info.value)) < 200


def test_one_string_is_not_a_sequence_of_symbols() -> None:
    with pytest.raises(InvalidSymbolError, match="not one string"):
        normalize_symbols("AAPL")


@given(st.text(max_size=40))
def test_anything_accepted_is_safe_for_urls_keys_and_logs(text: str) -> None:
    try:
        symbol = normalize_symbol(text)
    except InvalidSymbolError:
        return
    assert symbol.isascii() and symbol == symbol.upper()
    assert not set(symbol) & set("/\\?#% \t\r\n\"'<>") and ".." not in symbol
    assert 1 <= len(symbol) <= MAX_SYMBOL_LENGTH
    assert normalize_symbol(symbol) == symbol  # idempotent


@given(st.from_regex(r"\^?[A-Z0-9]{1,6}(-[A-Z]{1,3})?(\.[A-Z]{1,2})?(=[XF])?", fullmatch=True))
def test_generated_yahoo_shaped_symbols_pass_in_lower_case(symbol: str) -> None:
    assert normalize_symbol(symbol.lower()) == symbol
