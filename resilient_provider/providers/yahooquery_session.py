"""yahooquery's session seen by the adapter: a recording wrapper, and a set-up callers share."""

from __future__ import annotations

import threading
from typing import Any

from ..errors import ProviderTimeoutError
from .yahoo_http import Transcript, exchange_from_response


class RecordingSession:
    """yahooquery's view of the session: adds our timeout and records every answer."""

    def __init__(self, session: Any, timeout_s: float) -> None:
        self._session = session
        self._timeout_s = timeout_s
        self.transcript: Transcript | None = Transcript()

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send through the real session with a timeout; record the answer."""
        kwargs.setdefault("timeout", self._timeout_s)
        response = self._session.request(method, url, **kwargs)
        if self.transcript is not None:
            self.transcript.add(exchange_from_response(response))
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        """GET through :meth:`request`."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        """POST through :meth:`request`."""
        return self.request("POST", url, **kwargs)

    def __getattr__(self, name: str) -> Any:  # cookies, headers: the real session's
        return getattr(self._session, name)


class SessionSetUp:
    """One session set-up under way: what the callers waiting for it get when it ends.

    The caller that began it reports :meth:`succeed` or :meth:`fail`; the others call
    :meth:`outcome`, so concurrent callers share one set-up instead of queueing for their own.
    """

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self._done = threading.Event()
        self._session: Any = None
        self._error: BaseException | None = None

    def succeed(self, session: Any) -> None:
        """The set-up is done: waiters get ``session``."""
        self._session = session
        self._done.set()

    def fail(self, error: BaseException) -> None:
        """The set-up failed: waiters get ``error`` raised."""
        self._error = error
        self._done.set()

    def outcome(self, *, wait_s: float) -> Any:
        """The session set up, or the set-up's error raised (a timeout after ``wait_s``)."""
        if not self._done.wait(timeout=wait_s):
            raise ProviderTimeoutError(f"the session set-up took more than {wait_s:g} s")
        if self._error is not None:
            raise self._error
        return self._session
