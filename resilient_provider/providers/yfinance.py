"""The yfinance adapter: yfinance's ``Ticker.info`` for each symbol, classified, in canonical units.

Three yfinance realities shape it (read from yfinance 1.7's ``data.py`` and
``scrapers/quote.py``):

* ``YfData`` is a process-wide singleton: a ``session=`` given to any ``Ticker`` replaces the
  session (and shares the crumb) for every other user in the process. This adapter owns a
  private ``YfData`` instead, so two providers (or the user's own yfinance code) never trample
  each other's session, cookie or crumb.
* ``.info`` swallows HTTP errors (``hide_exceptions``) and answers an unknown symbol, a 500 or a
  401 alike with ``{'trailingPegRatio': None}``. The private ``YfData`` records every response
  in a :class:`~.yahoo_http.Transcript`, and the answer is classified from that record.
* Re-reading ``.info`` after a failure returns the failed state, so every attempt builds a fresh
  ``Quote`` (the object ``Ticker.info`` reads through); the ``YfData`` (session, cookie, crumb)
  is built lazily once and reused.

``.info`` costs three requests per symbol (quoteSummary, a one-symbol v7 quote, and
fundamentals-timeseries for ``trailingPegRatio`` alone). A call here sends one v7 quote per
chunk of up to 50 symbols and one quoteSummary per symbol, and the timeseries only when
``trailing_peg_ratio`` is on; each dict is still built by yfinance's own ``.info`` code
(:mod:`.yfinance_batch`). The symbols' quoteSummary requests run on a bounded thread pool.

``fetch_history`` sends one chart request per symbol through yfinance's own history code
(:mod:`.yfinance_history`), on the same session, gate and thread pool.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from yfinance.data import SingletonMeta, YfData
from yfinance.exceptions import YFRateLimitError

from ..config import YAHOO_UPSTREAM
from ..errors import DataContractError, RateLimitError, ResilientProviderError
from ..logs import get_logger
from ..symbols import normalize_symbols
from .answer_times import answered
from .gate import RequestGate
from .history_common import check_history_request
from .protocol import InfoOrError
from .session import YahooSession, checked_base_url
from .workers import LazyWorkers
from .yahoo_http import (
    Transcript,
    error_from_exception,
    exchange_from_response,
    first_failure,
)
from .yahoo_info import canonical_units, has_any_data
from .yfinance_batch import (
    QUOTE_CHUNK_SIZE,
    PrefetchedQuote,
    QuoteChunk,
    current_transcript,
    fetch_quote_chunk,
    recording,
)
from .yfinance_history import fetch_yfinance_history

log = get_logger(__name__)


class _QuietDuringOurCalls(logging.Filter):
    """Turns yfinance's own log lines into our DEBUG lines while this adapter is calling it.

    yfinance logs an ERROR for every HTTP failure it swallows ("HTTP Error 404: Not Found…"),
    which Python prints to stderr when the application configured no logging. The adapter
    classifies those failures itself, so during its calls (and only then: the flag is per
    thread) they are passed on at DEBUG, with our correlation id, instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if current_transcript() is None:
            return True
        log.debug("yfinance said: %s", record.getMessage()[:300])
        return False


def _install_quiet_filter() -> None:
    yf_logger = logging.getLogger("yfinance")
    if not any(isinstance(f, _QuietDuringOurCalls) for f in yf_logger.filters):
        yf_logger.addFilter(_QuietDuringOurCalls())


class _PrivateInstances(SingletonMeta):
    """Undo yfinance's singleton for our subclass: every construction is a new instance."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - a metaclass method
        return type.__call__(cls, *args, **kwargs)


class _RecordingYfData(YfData, metaclass=_PrivateInstances):
    """A private ``YfData`` that records each response and caps yfinance's 30 s timeouts."""

    def __init__(self, session: Any, timeout_s: float) -> None:
        super().__init__(session=session)
        self._timeout_s = timeout_s
        self._routed = isinstance(session, YahooSession) and session.base_url is not None

    # yfinance keeps the cookie in its own cache, an SQLite file under the user cache dir
    # (``py-yfinance/cookies.db``), and *unpickles* what it finds there: anyone who can write
    # that directory (another local user on a shared or mis-permissioned home, another process)
    # runs code inside ours. This YfData never reads nor writes that cache; the cookie lives
    # in the session, and a new process fetches it once more (one request). The time-zone and
    # ISIN caches sit beside it, but only ``Ticker`` history and ISIN look-ups read those,
    # never the path this adapter calls.
    def _load_cookie_curlCffi(self) -> bool:  # noqa: N802 - yfinance's name
        return False

    def _save_cookie_curlCffi(self) -> bool:  # noqa: N802 - yfinance's name
        return False

    def _get_cookie_basic(self, timeout: float = 30) -> Any:
        got = super()._get_cookie_basic(timeout)
        if got and self._routed and getattr(self, "_cookie", None) is None:
            # yfinance reuses only a cookie it could cache, one of a *yahoo* domain; a routed
            # session holds it under the mirror's host, so yfinance would fetch it again before
            # every request. Real Yahoo is never routed: its handshake stays yfinance's own.
            self._cookie = True
        return got

    def _make_request(self, url: Any, request_method: Callable[..., Any], body: Any = None,
                      params: Any = None, timeout: float = 30, data: Any = None) -> Any:
        transcript = current_transcript()

        def recorded(**kwargs: Any) -> Any:
            response = request_method(**kwargs)
            if transcript is not None:
                transcript.add(exchange_from_response(response))
            return response

        return super()._make_request(url, recorded, body=body, params=params,
                                     timeout=min(timeout, self._timeout_s), data=data)


class YFinanceProvider:
    """Ticker info from yfinance (the default primary provider).

    Args:
        session: a ``curl_cffi.requests.Session`` (or requests Session) handed to yfinance;
            default: yfinance's own browser-impersonating session.
        timeout_s: cap on each HTTP request (yfinance's own default is 30 s).
        base_url: send all Yahoo traffic to this URL instead (a mirror, or the fake Yahoo of
            :mod:`resilient_provider.testing`); ignored when ``session`` is given.
        max_workers: how many symbols this provider fetches at once in multi-symbol calls, all
            calls together (one thread pool per provider, so concurrent batch chunks share it).
        name: the provider name in results and stats.
        trailing_peg_ratio: also send yfinance's fundamentals-timeseries request, one more per
            symbol, to fill ``trailingPegRatio`` (the only field that needs it). Off by default:
            the key is then present with None, as when Yahoo has no value.

    A call sends one quoteSummary request per symbol and one v7 quote request per 50 symbols
    (about 1.02 requests per symbol, plus the cookie/crumb handshake), where ``Ticker.info``
    sends three per symbol; the dicts are built by yfinance's own ``.info`` code all the same.

    Every request yfinance sends passes the gate of the ``"yahoo"`` upstream once the façade
    binds one (:meth:`bind_gate`); a ``session`` given here is used as it is, unpaced, unless
    it is a :class:`~.session.YahooSession`.
    """

    #: The host this provider talks to: its requests share the budget of that upstream.
    upstream = YAHOO_UPSTREAM

    def __init__(self, *, session: Any = None, timeout_s: float = 10.0,
                 base_url: str | None = None, max_workers: int = 4,
                 name: str = "yfinance", trailing_peg_ratio: bool = False) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.name = name
        self._session = session
        checked_base_url(base_url)  # a bad one fails here, not at the first request
        self._base_url = base_url
        self._timeout_s = float(timeout_s)
        self._workers = LazyWorkers(max_workers, name=name)
        self._trailing_peg_ratio = bool(trailing_peg_ratio)
        self._lock = threading.Lock()
        self._data: _RecordingYfData | None = None
        self._gate: RequestGate | None = None
        self._owns_session = session is None

    def __repr__(self) -> str:
        return f"YFinanceProvider(name={self.name!r}, timeout_s={self._timeout_s})"

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        """Fetch ``Ticker.info`` for each symbol; answer per symbol with info or an error.

        First one v7 quote request per chunk of up to 50 symbols, then each symbol's
        quoteSummary request and its dict, built from both by yfinance's ``.info`` code.
        """
        wanted = list(dict.fromkeys(normalize_symbols(symbols)))
        if not wanted:
            return {}
        data = self._yf_data()
        chunks = [wanted[i:i + QUOTE_CHUNK_SIZE] for i in range(0, len(wanted), QUOTE_CHUNK_SIZE)]
        chunk_of = {symbol: chunk
                    for chunk in self._workers.map(partial(fetch_quote_chunk, data), chunks)
                    for symbol in chunk.symbols}
        answers = self._workers.map(lambda s: self._fetch_one(data, s, chunk_of[s]), wanted)
        return dict(zip(wanted, answers, strict=True))

    def fetch_history(self, symbols: Sequence[str], *, start: dt.datetime, end: dt.datetime,
                      interval: str) -> Mapping[str, Any]:
        """Fetch each symbol's bars in ``[start, end)`` (one chart request each); answer per
        symbol with the canonical bar frame or an error. ValueError names a bad argument."""
        check_history_request(start, end, interval)
        wanted = list(dict.fromkeys(normalize_symbols(symbols)))
        data = self._yf_data() if wanted else None

        def one(symbol: str) -> Any:
            self._take_refusal()
            answer = fetch_yfinance_history(data, symbol, start=start, end=end,
                                            interval=interval, timeout_s=self._timeout_s,
                                            provider=self.name)
            refusal = self._take_refusal()
            answered(symbol)
            return refusal if refusal is not None and isinstance(answer, Exception) else answer

        return dict(zip(wanted, self._workers.map(one, wanted), strict=True))

    def bind_gate(self, gate: RequestGate | None) -> None:
        """Pass every HTTP request of this provider through ``gate`` (its upstream's budget)."""
        with self._lock:
            self._gate = gate
            data = self._data
        if data is not None and isinstance(data._session, YahooSession):
            data._session.bind(gate, self.name)

    def close(self) -> None:
        """Stop the worker threads and close the session this provider made."""
        self._workers.close()
        with self._lock:
            data, self._data = self._data, None
        if data is not None and self._owns_session:
            data._session.close()

    # --- internals --------------------------------------------------------------------------

    def _yf_data(self) -> _RecordingYfData:
        with self._lock:
            if self._data is None:
                session = self._session
                if session is None:
                    # yfinance's own default (new_session) impersonates Chrome the same way.
                    session = YahooSession(self._base_url, timeout_s=self._timeout_s,
                                           impersonate="chrome")
                if isinstance(session, YahooSession):
                    session.bind(self._gate, self.name)
                self._data = _RecordingYfData(session, self._timeout_s)
                _install_quiet_filter()
            return self._data

    def _fetch_one(self, data: _RecordingYfData, symbol: str, chunk: QuoteChunk) -> InfoOrError:
        self._take_refusal()  # a refusal left from an earlier call on this thread is not ours
        answer = self._fetch_unpaced(data, symbol, chunk)
        # yfinance swallows most exceptions, a gate's refusal too: a request it could not send
        # leaves the answer incomplete whatever yfinance made of it.
        refusal = self._take_refusal()
        answered(symbol)  # this symbol's own latency ends here, not with the slowest symbol's
        return refusal if refusal is not None and not isinstance(answer, dict) else answer

    def _take_refusal(self) -> ResilientProviderError | None:
        data = self._data
        session = data._session if data is not None else None
        return session.take_refusal() if isinstance(session, YahooSession) else None

    def _fetch_unpaced(self, data: _RecordingYfData, symbol: str,
                       chunk: QuoteChunk) -> InfoOrError:
        transcript = Transcript()
        try:
            with recording(transcript):
                info = PrefetchedQuote(data, symbol, chunk,
                                       trailing_peg_ratio=self._trailing_peg_ratio).info
        except YFRateLimitError as exc:
            last = transcript.last_rate_limit()
            error: ResilientProviderError = RateLimitError(
                "HTTP 429 from Yahoo (rate limited)",
                retry_after=last.retry_after_s if last else None,
                symbol=symbol, provider=self.name)
            error.__cause__ = exc
            return error
        except Exception as exc:  # noqa: BLE001 - yfinance raises bare transport/JSON errors
            recorded = first_failure(transcript.final(symbol), symbol=symbol, provider=self.name)
            return recorded or error_from_exception(exc, symbol=symbol, provider=self.name)
        return self._classify(symbol, info, transcript)

    def _classify(self, symbol: str, info: Any, transcript: Transcript) -> InfoOrError:
        failure = first_failure(transcript.final(symbol), symbol=symbol, provider=self.name)
        if failure is not None and failure.counts_against_provider:
            return failure
        if isinstance(info, dict) and has_any_data(info):
            return canonical_units(info, quote_keys=transcript.quote_keys(symbol))
        return failure or DataContractError("Yahoo answered with an empty result",
                                            symbol=symbol, provider=self.name)
