"""The data contract: an answer must be usable before it counts as a success.

"No exception" is not success: sources answer unknown symbols with near-empty dicts and failed
lookups with strings. An answer with no finite positive price (or with a price field that is
not one: NaN, infinite, zero, negative), another symbol's data, or core fields of the wrong
type is a :class:`DataContractError` — a provider failure that falls over to the next source —
never silently passed on.
"""

from __future__ import annotations

from typing import Any

from ..errors import DataContractError
from ..providers.canonical import CORE_FIELDS, PRICE_FIELDS, is_positive_number, with_core_fields


def check_info(symbol: str, answer: object, *, provider: str) -> dict[str, Any] | DataContractError:
    """Return the answer with every core field present, or the contract it breaks."""
    if not isinstance(answer, dict):
        return DataContractError(
            f"answer is {type(answer).__name__}, not an info dict", symbol=symbol, provider=provider
        )
    answered_for = answer.get("symbol")
    if answered_for is not None and (
        not isinstance(answered_for, str) or answered_for.strip().upper() != symbol
    ):
        return DataContractError(
            f"answer is for symbol {str(answered_for)[:40]!r}, not {symbol!r}",
            symbol=symbol, provider=provider,
        )
    if not any(is_positive_number(answer.get(f)) for f in PRICE_FIELDS):
        return DataContractError(
            "answer has no finite positive price", symbol=symbol, provider=provider
        )
    # One good price field does not vouch for the other: a NaN, infinite, zero or negative
    # price would reach the analysis as data (absent, None, is fine).
    for field in PRICE_FIELDS:
        value = answer.get(field)
        if value is not None and not is_positive_number(value):
            return DataContractError(
                f"field {field!r} is {str(value)[:40]}, not a finite positive price",
                symbol=symbol, provider=provider,
            )
    for field, types in CORE_FIELDS.items():
        value = answer.get(field)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            return DataContractError(
                f"field {field!r} is {type(value).__name__}, expected "
                + " or ".join(t.__name__ for t in types),
                symbol=symbol, provider=provider,
            )
    data = with_core_fields(answer)
    data["symbol"] = symbol
    return data
