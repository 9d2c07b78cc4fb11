"""The yahooquery adapter: quoteSummary modules plus the batched v7 quote, in canonical form.

yahooquery realities it handles (read from yahooquery 2.4's ``base.py``, ``ticker.py`` and
``session_management.py``):

* The ``Ticker`` constructor does network I/O (the crumb), so Tickers are built lazily and kept
  in a small pool for reuse; a Ticker whose crumb Yahoo refused is dropped, so the next call
  gets a fresh crumb.
* It never looks at HTTP status codes and never passes a timeout. Its session is wrapped in a
  :class:`RecordingSession` that adds ``timeout_s`` to every request and records every answer,
  and failures are classified from that record (:mod:`.yahoo_http`).
* It answers errors with strings in place of dicts (``'Quote not found for symbol: X'``,
  ``'Invalid Crumb'``, ``'No data found'``), and one non-JSON answer turns the whole
  multi-symbol result into ``{'error': 'HTTP 404 Not Found…'}`` (read in
  :mod:`.yahooquery_answers`).
* quoteSummary is one request per symbol, all sent before any answer is read, so one refused
  or failed request would lose the answers before it: the adapter hands ``get_modules`` one
  symbol at a time (the same requests), and a symbol left unasked by a failure is asked again
  once, so one bad symbol never sinks the others. ``.quotes`` (v7) takes many symbols per
  request and is used for that. Chunks of symbols run concurrently on a bounded thread pool,
  one pooled Ticker per chunk.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from yahooquery import Ticker

from ..config import YAHOO_UPSTREAM
from ..errors import (
    AuthenticationError,
    DataContractError,
    ProviderUnavailableError,
    RateLimitError,
    ResilientProviderError,
)
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
)
from .yahoo_info import INFO_MODULES
from .yahooquery_answers import WHOLE_BATCH_LOST, LostInBatchError, after_exception, classify
from .yahooquery_history import fetch_yahooquery_history
from .yahooquery_session import RecordingSession, SessionSetUp


class _RawTicker(Ticker):
    """A yahooquery Ticker that keeps Yahoo's epoch seconds for dates.

    yahooquery turns dates into local-time strings; yfinance keeps epoch seconds. Keeping them
    raw gives the same types whichever library served the answer.
    """

    def _format_data(self, obj: Any, dates: Any) -> Any:
        return obj


class YahooQueryProvider:
    """Ticker info from yahooquery (the default secondary provider).

    Args:
        session: a ``curl_cffi.requests.Session`` handed to yahooquery (it then skips its own
            cookie set-up, as yahooquery does); default: yahooquery's own session.
        timeout_s: timeout of each HTTP request (yahooquery sends none of its own).
        base_url: send all Yahoo traffic to this URL instead (a mirror, or the fake Yahoo of
            :mod:`resilient_provider.testing`); ignored when ``session`` is given.
        max_workers: how many chunks of symbols this provider fetches at once, all calls
            together (one thread pool per provider, so concurrent batch chunks share it).
        chunk_size: symbols per yahooquery Ticker call: one v7 request each, and their
            quoteSummary requests one after another (yahooquery's synchronous mode), so chunks
            are the unit of parallelism. 25 keeps a 50-symbol call on two threads for 0.02
            more requests per symbol than 50 would; yahooquery itself would put up to 1500
            symbols in one v7 request, where Yahoo has failed more than ~99 since 2025-03.
        name: the provider name in results and stats.

    Every request yahooquery sends passes the gate of the ``"yahoo"`` upstream once the façade
    binds one (:meth:`bind_gate`); a ``session`` given here is used as it is, unpaced, unless
    it is a :class:`~.session.YahooSession`.
    """

    #: The host this provider talks to: its requests share the budget of that upstream.
    upstream = YAHOO_UPSTREAM

    def __init__(self, *, session: Any = None, timeout_s: float = 10.0,
                 base_url: str | None = None, max_workers: int = 4, chunk_size: int = 25,
                 name: str = "yahooquery") -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
        self.name = name
        self._given_session = session
        checked_base_url(base_url)  # a bad one fails here, not at the first request
        self._base_url = base_url
        self._timeout_s = float(timeout_s)
        self._workers = LazyWorkers(max_workers, name=name)
        self._chunk_size = chunk_size
        # Guards the fields below, and is never held across I/O: the session's network set-up
        # (yahooquery's cookie fetch) runs outside it, so one slow set-up neither serialises
        # the other callers nor holds up close().
        self._lock = threading.Lock()
        self._session: Any = None
        self._setup: SessionSetUp | None = None  # the session set-up under way, if any
        self._generation = 0  # bumped by close(): a set-up begun before it is not published
        self._gate: RequestGate | None = None
        self._idle: list[tuple[_RawTicker, RecordingSession]] = []

    def __repr__(self) -> str:
        return f"YahooQueryProvider(name={self.name!r}, timeout_s={self._timeout_s})"

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        """Fetch each symbol's quoteSummary modules and v7 quote; answer per symbol."""
        wanted = normalize_symbols(symbols)
        chunks = [wanted[i:i + self._chunk_size] for i in range(0, len(wanted), self._chunk_size)]
        answers: dict[str, InfoOrError] = {}
        for chunk_answers in self._workers.map(self._fetch_chunk, chunks):
            answers.update(chunk_answers)
        return {symbol: answers[symbol] for symbol in wanted}

    def fetch_history(self, symbols: Sequence[str], *, start: dt.datetime, end: dt.datetime,
                      interval: str) -> Mapping[str, Any]:
        """Fetch each symbol's bars in ``[start, end)`` (one chart request each); answer per
        symbol with the canonical bar frame or an error. ValueError names a bad argument."""
        check_history_request(start, end, interval)
        wanted = list(dict.fromkeys(normalize_symbols(symbols)))
        one = partial(fetch_yahooquery_history, start=start, end=end, interval=interval,
                      borrow=self._borrow, give_back=self._give_back,
                      take_refusal=self._take_refusal, provider=self.name)
        answers = self._workers.map(one, wanted)
        answered(*wanted)
        return dict(zip(wanted, answers, strict=True))

    def bind_gate(self, gate: RequestGate | None) -> None:
        """Pass every HTTP request of this provider through ``gate`` (its upstream's budget)."""
        with self._lock:
            self._gate = gate
            session = self._session
        if isinstance(session, YahooSession):
            session.bind(gate, self.name)

    def close(self) -> None:
        """Drop the pooled Tickers, stop the worker threads, close the session we made.

        A session set-up under way is not waited for: its session is closed when it ends.
        """
        self._workers.close()
        with self._lock:
            session, self._session = self._session, None
            self._generation += 1
            self._idle.clear()
        if session is not None and self._given_session is None:
            session.close()

    # --- Tickers ----------------------------------------------------------------------------

    def _base_session(self) -> Any:
        """The session every Ticker shares, set up once; concurrent callers share the set-up.

        The first caller sets it up, outside the lock; the others wait for that one set-up
        (not for each other's, one after another) and get its session or its error.
        """
        with self._lock:
            if self._session is not None:
                return self._session
            if self._given_session is not None:  # no I/O: yahooquery skips its set-up then
                self._session = self._given_session
                if isinstance(self._session, YahooSession):
                    self._session.bind(self._gate, self.name)
                return self._session
            setup = self._setup
            if setup is None:
                setup = self._setup = SessionSetUp(self._generation)
                leading = True
            else:
                leading = False
        if not leading:
            return setup.outcome(wait_s=self._setup_wait_s())
        try:
            session = self._new_session()
        except BaseException as exc:
            with self._lock:
                self._setup = None
            setup.fail(exc)
            raise
        with self._lock:
            self._setup = None
            current = setup.generation == self._generation
            if current:
                self._session = session
                session.bind(self._gate, self.name)  # the gate bound while it was set up
        if not current:  # closed meanwhile: the session is nobody's
            session.close()
            error = ProviderUnavailableError("the provider was closed during its set-up",
                                             provider=self.name)
            setup.fail(error)
            raise error
        setup.succeed(session)
        return session

    def _setup_wait_s(self) -> float:
        # setup_session sends the page request and may follow a consent form (two more).
        return 3 * self._timeout_s + 1.0

    def _new_session(self) -> YahooSession:
        """yahooquery's own session set-up (a random browser to impersonate, its headers, the
        cookie), on a :class:`YahooSession` so every request is paced."""
        from yahooquery.constants import BROWSERS
        from yahooquery.session_management import setup_session

        if self._base_url is not None:
            session = YahooSession(self._base_url, timeout_s=self._timeout_s, gate=self._gate,
                                   provider=self.name)
        else:
            impersonate = random.choice(list(BROWSERS))  # yahooquery picks one the same way
            session = YahooSession(timeout_s=self._timeout_s, gate=self._gate,
                                   provider=self.name, headers=BROWSERS[impersonate],
                                   impersonate=impersonate)
        setup_session(session)
        return session

    def _take_refusal(self) -> ResilientProviderError | None:
        """The gate's refusal of a request this thread sent, if any (see :mod:`.session`)."""
        session = self._session
        return session.take_refusal() if isinstance(session, YahooSession) else None

    def _borrow(self, symbols: list[str]) -> tuple[_RawTicker, RecordingSession]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        recorder = RecordingSession(self._base_session(), self._timeout_s)
        ticker = _RawTicker(symbols, session=recorder)
        throttled = recorder.transcript.last_rate_limit() if recorder.transcript else None
        if throttled is not None:
            raise RateLimitError("HTTP 429 while getting a crumb",
                                 retry_after=throttled.retry_after_s, provider=self.name)
        if not ticker.crumb or "too many requests" in str(ticker.crumb).lower():
            raise AuthenticationError("Yahoo gave no crumb", provider=self.name)
        return ticker, recorder

    def _give_back(self, ticker: _RawTicker, recorder: RecordingSession) -> None:
        with self._lock:
            if self._session is not None:
                self._idle.append((ticker, recorder))

    # --- one chunk --------------------------------------------------------------------------

    def _fetch_chunk(self, symbols: list[str]) -> dict[str, InfoOrError]:
        self._take_refusal()  # a refusal left from an earlier call on this thread is not ours
        try:
            ticker, recorder = self._borrow(symbols)
        except Exception as exc:  # noqa: BLE001 - the constructor's I/O raises anything
            error = self._take_refusal() or error_from_exception(exc, symbol=None,
                                                                 provider=self.name)
            return {symbol: error for symbol in symbols}
        answers = self._ask(ticker, recorder, symbols)
        lost = [s for s, a in answers.items() if isinstance(a, LostInBatchError)]
        refusal = self._take_refusal()
        if lost and len(lost) < len(symbols) and refusal is None:
            answers.update(self._ask(ticker, recorder, lost))
            refusal = self._take_refusal()
        if refusal is not None:  # a request was never sent: what it would have answered is not
            answers = {s: a if isinstance(a, dict) else refusal for s, a in answers.items()}
        final = {s: self._final(s, a) for s, a in answers.items()}
        answered(*final)  # the chunk's symbols are ready now, whatever later chunks take
        if not any(isinstance(a, AuthenticationError) for a in final.values()):
            self._give_back(ticker, recorder)  # a Ticker whose crumb was refused is dropped
        return final

    def _final(self, symbol: str, answer: InfoOrError) -> InfoOrError:
        if isinstance(answer, LostInBatchError):
            return DataContractError("lost in a failed multi-symbol answer",
                                     symbol=symbol, provider=self.name)
        return answer

    def _ask(self, ticker: _RawTicker, recorder: RecordingSession,
             symbols: list[str]) -> dict[str, InfoOrError]:
        """Ask ``symbols``' quoteSummary modules one symbol at a time, then their v7 quote.

        yahooquery sends a multi-symbol ``get_modules`` as one request per symbol anyway, but
        it sends them all before reading any answer: a request refused by the pacing gate (or
        a transport error) part-way loses every answer before it, and those symbols had to be
        asked again (a second request each). Handing it one symbol at a time sends the same
        requests and keeps what was answered. After a failure the symbols not asked yet are
        left to :meth:`_fetch_chunk`, and no v7 quote is asked: a refused v7 request, or a
        failed one, only loses the v7 overlay of the answers (see :meth:`_classify`).
        """
        transcript = Transcript()
        recorder.transcript = transcript
        modules: dict[str, Any] = {}
        answers: dict[str, InfoOrError] = {}
        quotes: Any = None
        try:
            for position, symbol in enumerate(symbols):
                ticker.symbols = [symbol]
                try:
                    part = ticker.get_modules(list(INFO_MODULES))
                except Exception as exc:  # noqa: BLE001 - transport errors surface unchanged
                    answers = after_exception(symbols[position:], exc, transcript,
                                              provider=self.name)
                    break
                if isinstance(part, dict) and set(part) != {WHOLE_BATCH_LOST}:
                    modules.update(part)
            else:
                ticker.symbols = list(symbols)
                try:
                    quotes = ticker.quotes
                except Exception:  # noqa: BLE001 - the overlay is lost, the modules stand
                    quotes = None
        finally:
            recorder.transcript = None
        for symbol in symbols:
            if symbol not in answers:
                answers[symbol] = classify(symbol, modules if symbol in modules else None,
                                           quotes, transcript, provider=self.name)
        return answers
