"""Logging with a per-request correlation id and secrets masked.

Every module logs through :func:`get_logger`, an adapter over the standard ``logging`` logger of
the same name (all under ``resilient_provider``). While a request runs, :func:`correlation_scope`
holds a short id in a :mod:`contextvars` variable; the adapter puts it at the front of every line
(``[rp:3f9a2c1d] …``) and on the record as ``record.correlation_id``, so threads and tasks that
copy the context keep it. Messages are redacted after formatting, and formatted only when the
level is enabled, so logging stays lazy.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import secrets
from collections.abc import Iterator, MutableMapping
from typing import Any

from .redaction import redact

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "resilient_provider_correlation_id", default=None
)


def current_correlation_id() -> str | None:
    """The correlation id of the request running in this context, if any."""
    return _correlation_id.get()


@contextlib.contextmanager
def correlation_scope(correlation_id: str | None = None) -> Iterator[str]:
    """Run a block under a correlation id (a new 8-hex-digit one unless given)."""
    cid = correlation_id or secrets.token_hex(4)
    token = _correlation_id.set(cid)
    try:
        yield cid
    finally:
        _correlation_id.reset(token)


class RequestLogger(logging.LoggerAdapter[logging.Logger]):
    """Adds the correlation id to each line and masks secrets in the formatted message."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        line, options = self.process(redact(text), kwargs)
        options.setdefault("stacklevel", 2)
        self.logger.log(level, line, **options)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        cid = _correlation_id.get()
        extra = dict(kwargs.get("extra") or {})
        extra.setdefault("correlation_id", cid)
        kwargs["extra"] = extra
        return (f"[rp:{cid}] {msg}" if cid else msg), kwargs


def get_logger(name: str) -> RequestLogger:
    """The library logger for module ``name`` (use ``get_logger(__name__)``)."""
    return RequestLogger(logging.getLogger(name), {})
