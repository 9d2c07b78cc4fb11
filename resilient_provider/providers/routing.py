"""A session that sends Yahoo traffic to another base URL (a mirror or a fake Yahoo).

Both libraries build Yahoo URLs themselves (``https://query2.finance.yahoo.com/...``), so the
session is the one seam that redirects them. :class:`YahooRoutingSession` is
:class:`~.session.YahooSession` with a required ``base_url``: the name tests and users route
with; the adapters build a :class:`~.session.YahooSession` themselves.
"""

from __future__ import annotations

from typing import Any

from .session import ORIGINAL_HOST_HEADER, YahooSession, is_yahoo_host

__all__ = ["ORIGINAL_HOST_HEADER", "YahooRoutingSession", "is_yahoo_host"]


class YahooRoutingSession(YahooSession):
    """A curl_cffi Session whose Yahoo requests go to ``base_url`` instead.

    Args:
        base_url: where Yahoo requests go, e.g. ``"http://127.0.0.1:8765"``.
        timeout_s: default and cap for every request's timeout; None leaves timeouts alone.
        **session_kwargs: passed to :class:`~.session.YahooSession` (``gate``, ``provider``)
            and on to ``curl_cffi.requests.Session``.
    """

    def __init__(self, base_url: str, *, timeout_s: float | None = None,
                 **session_kwargs: Any) -> None:
        super().__init__(base_url, timeout_s=timeout_s, **session_kwargs)
