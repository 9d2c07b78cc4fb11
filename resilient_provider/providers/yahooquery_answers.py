"""How yahooquery's answers become canonical infos or typed errors, one symbol at a time.

yahooquery answers errors with strings in place of dicts (``'Quote not found for symbol: X'``,
``'Invalid Crumb'``, ``'No data found'``), one non-JSON answer turns a whole multi-symbol
result into ``{'error': 'HTTP 404 Not Found…'}`` (:data:`WHOLE_BATCH_LOST`), and it never looks
at HTTP statuses: the adapter's transcript of every answer (:mod:`.yahoo_http`) decides. Used by
:mod:`.yahooquery`.
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    AuthenticationError,
    DataContractError,
    ResilientProviderError,
    SymbolNotFoundError,
)
from .protocol import InfoOrError
from .yahoo_http import Transcript, error_from_exception, first_failure, is_not_found
from .yahoo_info import canonical_units, merge_modules

#: The key of yahooquery's answer when a non-JSON response lost the whole result.
WHOLE_BATCH_LOST = "error"


def after_exception(symbols: list[str], exc: Exception, transcript: Transcript, *,
                    provider: str) -> dict[str, InfoOrError]:
    """Blame the exception on the first symbol yahooquery got no answer for.

    yahooquery asks one symbol at a time, in order, and stops at the first exception: the
    symbols before the culprit were answered and the ones after were never asked, so both
    are asked again rather than failed with someone else's error.
    """
    answered = {s for s in symbols
                if any(e.route == "quoteSummary" for e in transcript.final(s))}
    culprit = next((s for s in symbols if s not in answered), None)
    answers: dict[str, InfoOrError] = {}
    for s in symbols:
        own = first_failure(transcript.final(s), symbol=s, provider=provider)
        if own is not None:
            answers[s] = own
        elif s == culprit or len(symbols) == 1:
            answers[s] = error_from_exception(exc, symbol=s, provider=provider)
        else:
            answers[s] = LostInBatchError(s)
    return answers


def classify(symbol: str, modules: Any, quotes: Any, transcript: Transcript, *,
             provider: str) -> InfoOrError:
    """``symbol``'s info, or the error that explains why there is none.

    quoteSummary decides: its price module makes a whole answer, so a failed batched v7
    request (shared by every symbol of the chunk) only loses the v7 overlay.
    """
    exchanges = transcript.final(symbol)
    summary = [e for e in exchanges if e.route == "quoteSummary"] or exchanges
    failure = first_failure(summary, symbol=symbol, provider=provider)
    if failure is not None and failure.counts_against_provider:
        return failure
    answer = modules.get(symbol) if isinstance(modules, dict) else None
    if isinstance(answer, dict) and answer:
        quote = quotes.get(symbol) if isinstance(quotes, dict) else None
        merged = merge_modules(answer, quote if isinstance(quote, dict) else None,
                               symbol=symbol)
        return canonical_units(merged, quote_keys=transcript.quote_keys(symbol))
    if failure is not None:
        return failure
    if isinstance(answer, str):
        return from_message(symbol, answer, provider=provider)
    if modules is None:
        return LostInBatchError(symbol)
    return DataContractError("Yahoo answered with an empty result",
                             symbol=symbol, provider=provider)


def from_message(symbol: str, message: str, *, provider: str) -> ResilientProviderError:
    """yahooquery's error strings, for answers whose HTTP status said nothing."""
    text = message[:200]
    if is_not_found(text):
        return SymbolNotFoundError(f"Yahoo does not know {symbol!r}: {text}",
                                   symbol=symbol, provider=provider)
    if "crumb" in text.lower() or "unauthorized" in text.lower():
        return AuthenticationError(f"Yahoo refused the crumb: {text}",
                                   symbol=symbol, provider=provider)
    return DataContractError(f"Yahoo answered with a message, not data: {text}",
                             symbol=symbol, provider=provider)


class LostInBatchError(DataContractError):
    """Marks a symbol whose own answer was fine but whose batch failed; it is asked again."""

    def __init__(self, symbol: str) -> None:
        super().__init__("lost in a failed multi-symbol answer", symbol=symbol)
