"""Many symbols through yfinance at about one request each, each dict built as ``.info`` builds it.

``Ticker.info`` (yfinance 1.7, ``scrapers/quote.py``) sends three requests per symbol: the
quoteSummary modules (``Quote._fetch``), a one-symbol v7 quote (``Quote._fetch_additional_info``)
and a fundamentals-timeseries request for ``trailingPegRatio`` alone
(``Quote._fetch_complementary``); ``Quote._fetch_info`` then merges the first two, lets the v7
values overwrite the modules', flattens and formats. Here, for a multi-symbol call:

* :func:`fetch_quote_chunk` asks the v7 quote once for up to :data:`QUOTE_CHUNK_SIZE` symbols,
  through yfinance's own ``_fetch_additional_info`` (so its session, cookie, crumb, retry and
  error hiding apply): that method only puts the symbol into the ``symbols`` parameter, which
  Yahoo's v7 endpoint reads as a comma-separated list.
* Each symbol then reads yfinance's own ``Quote.info`` on a :class:`PrefetchedQuote`: the real
  quoteSummary request, and in place of the v7 request the symbol's entry of the chunk answer,
  shaped as Yahoo's one-symbol answer. Merging, overwriting and formatting are yfinance's code,
  unchanged, so the dict is the one ``.info`` gives for the same bodies.
* When the chunk answer cannot stand in for the symbol's own (the chunk request failed, or it
  left out a symbol whose quoteSummary answered), the symbol sends its own one-symbol v7 request,
  exactly as ``.info`` does: a shared request never sinks a symbol, and each symbol ends up with
  the exchanges ``.info`` would have had, so it is classified as before.
* The timeseries request is sent only when asked for; otherwise ``trailingPegRatio`` is None, as
  yfinance sets it when Yahoo has no value (the key stays, so the dict keeps its shape).

The exchanges of a call are recorded per thread (:func:`recording`): the private ``YfData``
adds each response to :func:`current_transcript`, and a symbol whose chunk answer stands in gets
the chunk's exchanges added to its own record, at the point where ``.info`` would have sent them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from yfinance.scrapers.quote import Quote

from .yahoo_http import Transcript

#: Symbols per v7 quote request. Yahoo has failed v7 requests for more than 99 symbols since
#: 2025-03 (quantmod #432/#433, yahoo-finance2 #901); 50 stays well below that.
QUOTE_CHUNK_SIZE = 50

#: The transcript of the adapter call running on this thread (None between calls).
_current = threading.local()


def current_transcript() -> Transcript | None:
    """The transcript recording this thread's exchanges, if an adapter call is running here."""
    transcript: Transcript | None = getattr(_current, "transcript", None)
    return transcript


@contextmanager
def recording(transcript: Transcript) -> Iterator[Transcript]:
    """Record this thread's exchanges with Yahoo into ``transcript`` while the block runs."""
    _current.transcript = transcript
    try:
        yield transcript
    finally:
        _current.transcript = None


@dataclass(frozen=True)
class QuoteChunk:
    """One v7 quote request for several symbols: what it answered, or how it failed.

    ``body`` is the JSON yfinance's ``_fetch_additional_info`` returned (None when it hid an
    HTTP error), ``error`` what it raised instead (a 429, malformed JSON, a timeout…).
    """

    symbols: tuple[str, ...]
    body: Mapping[str, Any] | None
    error: BaseException | None
    transcript: Transcript
    _entries: dict[str, dict[str, Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        response = self.body.get("quoteResponse") if isinstance(self.body, Mapping) else None
        result = response.get("result") if isinstance(response, Mapping) else None
        entries: dict[str, dict[str, Any]] = {}
        for entry in result if isinstance(result, list) else ():
            if isinstance(entry, dict) and entry.get("symbol"):
                entries.setdefault(str(entry["symbol"]).upper(), entry)
        object.__setattr__(self, "_entries", entries)

    @property
    def failed(self) -> bool:
        """True when the request raised, or brought back no ``quoteResponse`` result list."""
        if self.error is not None or not isinstance(self.body, Mapping):
            return True
        response = self.body.get("quoteResponse")
        return not (isinstance(response, Mapping) and isinstance(response.get("result"), list))

    def stands_in_for(self, symbol: str, *, summary_has_data: bool) -> bool:
        """Whether this answer can serve as ``symbol``'s own one-symbol v7 answer.

        A one-symbol chunk *is* the symbol's own request. Otherwise a failed request cannot,
        and neither can an answer that leaves out a symbol Yahoo knows (its quoteSummary has
        data): Yahoo's multi-symbol v7 has been seen to drop symbols it answers alone.
        """
        if len(self.symbols) == 1:
            return True
        if self.failed:
            return False
        return symbol in self._entries or not summary_has_data

    def replay_for(self, symbol: str) -> Any:
        """What ``symbol``'s own v7 request would have given: the exchanges go into the current
        transcript, then the answer is returned (or, for a one-symbol chunk, its error raised)."""
        transcript = current_transcript()
        if transcript is not None:
            for exchange in self.transcript.exchanges():
                transcript.add(exchange)
        if len(self.symbols) == 1:
            if self.error is not None:
                raise self.error
            return self.body
        if self.body is None:  # not reached: stands_in_for() said the request answered
            return None
        entry = self._entries.get(symbol)
        response = self.body.get("quoteResponse") or {}
        # A one-symbol answer: _fetch_info sets result[0]["symbol"], so each symbol gets a copy.
        return {**self.body, "quoteResponse": {**response,
                                               "result": [dict(entry)] if entry else []}}


def fetch_quote_chunk(data: Any, symbols: list[str]) -> QuoteChunk:
    """Send one v7 quote request for ``symbols`` through yfinance's own code."""
    transcript = Transcript()
    body: Any = None
    error: BaseException | None = None
    with recording(transcript):
        try:
            body = Quote(data, ",".join(symbols))._fetch_additional_info()
        except Exception as exc:  # noqa: BLE001 - kept: each symbol meets it as .info would
            error = exc
    return QuoteChunk(tuple(symbols), body, error, transcript)


def _has_result(summary: Any) -> bool:
    """Whether a quoteSummary body carries a result (the symbol exists and has modules)."""
    response = summary.get("quoteSummary") if isinstance(summary, dict) else None
    return isinstance(response, dict) and bool(response.get("result"))


class PrefetchedQuote(Quote):
    """yfinance's ``Quote`` whose v7 request is answered from a :class:`QuoteChunk`.

    Only the two network steps around ``_fetch_info`` are replaced; ``_fetch_info`` itself (the
    merge, the v7 overwrite, flattening, formatting) runs as yfinance wrote it.
    """

    def __init__(self, data: Any, symbol: str, chunk: QuoteChunk, *,
                 trailing_peg_ratio: bool) -> None:
        super().__init__(data, symbol)
        self._chunk = chunk
        self._trailing_peg_ratio = trailing_peg_ratio
        self._summary: Any = None

    def _fetch(self, modules: list[str]) -> Any:
        self._summary = super()._fetch(modules)  # the real quoteSummary request
        return self._summary

    def _fetch_additional_info(self) -> Any:
        if self._chunk.stands_in_for(self._symbol, summary_has_data=_has_result(self._summary)):
            return self._chunk.replay_for(self._symbol)
        return super()._fetch_additional_info()  # the symbol's own v7 request, as .info sends

    def _fetch_complementary(self) -> None:
        if self._trailing_peg_ratio:
            super()._fetch_complementary()  # the fundamentals-timeseries request
        elif self._info is not None:
            self._info["trailingPegRatio"] = None  # what yfinance sets when Yahoo has no value
