"""Logging with a run id and a per-request correlation id on every line, secrets masked.

Every module logs through :func:`get_logger`, an adapter over the standard ``logging`` logger of
the same name (all under ``resilient_provider``). Two :mod:`contextvars` variables say what a
line belongs to, so threads and tasks that copy the context keep them:

* :func:`run_scope` holds the façade's run id (``ResilientProvider.stats.run_id``, a new one
  after ``reset_stats()``) while it serves a call;
* :func:`correlation_scope` holds a short id for one request (one walk of the fallback chain).

The adapter puts both on the record (``record.run_id``, ``record.correlation_id``) and at the
front of the message (``[run:5e1f0c2a9b3d rp:3f9a2c1d] …``), so any handler shows them. The
formatters of :func:`configure_logging` write them once: in that prefix in text, as
``run_id`` and ``correlation_id`` keys (beside the bare message) in JSON. Messages are
redacted after formatting, and formatted only when the level is enabled, so logging stays lazy.

One record is one line: a message (or a traceback) can carry text from outside -- a Yahoo error
description, a provider's exception, a symbol someone typed -- and a line break in it would
write a line that reads as another record. The adapter writes control characters of the
library's messages as backslash escapes (whatever handler shows them), and the text format does
the same for every record, other libraries' included, tracebacks too.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any, Literal, TextIO

from .errors import ResilientProviderError
from .redaction import escape_controls, redact

#: The two line formats of :func:`configure_logging`.
LogFormat = Literal["text", "json"]

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "resilient_provider_correlation_id", default=None
)
_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "resilient_provider_run_id", default=None
)


def current_correlation_id() -> str | None:
    """The correlation id of the request running in this context, if any."""
    return _correlation_id.get()


def current_run_id() -> str | None:
    """The run id of the façade serving a call in this context, if any."""
    return _run_id.get()


@contextlib.contextmanager
def correlation_scope(correlation_id: str | None = None) -> Iterator[str]:
    """Run a block under a correlation id (a new 8-hex-digit one unless given)."""
    cid = correlation_id or secrets.token_hex(4)
    token = _correlation_id.set(cid)
    try:
        yield cid
    finally:
        _correlation_id.reset(token)


@contextlib.contextmanager
def run_scope(run_id: str) -> Iterator[str]:
    """Run a block under ``run_id``: every library line logged in it carries that run id."""
    token = _run_id.set(run_id)
    try:
        yield run_id
    finally:
        _run_id.reset(token)


class RequestLogger(logging.LoggerAdapter[logging.Logger]):
    """Adds the run and correlation ids to each record and masks secrets in the message."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        line, options = self.process(escape_controls(redact(text)), kwargs)
        options.setdefault("stacklevel", 2)
        self.logger.log(level, line, **options)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        cid = _correlation_id.get()
        extra = dict(kwargs.get("extra") or {})
        extra.setdefault("correlation_id", cid)
        run_id = _run_id.get()
        extra.setdefault("run_id", run_id)
        kwargs["extra"] = extra
        tags = _tags(run_id, cid)
        return (f"[{tags}] {msg}" if tags else msg), kwargs


def _tags(run_id: str | None, correlation_id: str | None) -> str:
    """``run:… rp:…``, either part left out when unset."""
    return " ".join(t for t in (run_id and f"run:{run_id}",
                                correlation_id and f"rp:{correlation_id}") if t)


def get_logger(name: str) -> RequestLogger:
    """The library logger for module ``name`` (use ``get_logger(__name__)``)."""
    return RequestLogger(logging.getLogger(name), {})


def describe_symbols(symbols: Sequence[str], *, limit: int = 5) -> str:
    """Symbols for a log line: ``AAPL``, ``AAPL, MSFT`` or ``AAPL, … , IWM and 20 more``."""
    shown = ", ".join(symbols[:limit])
    return shown if len(symbols) <= limit else f"{shown} and {len(symbols) - limit} more"


def describe_errors(errors: Mapping[str, ResilientProviderError]) -> str:
    """``AAPL: timeout (timeout after 1.0s)``, symbols with the same error grouped, groups
    joined by ``; `` — the cause part of a log line."""
    groups: dict[tuple[str, str], list[str]] = {}
    for symbol, error in errors.items():
        groups.setdefault((error.code, error.message[:200]), []).append(symbol)
    return "; ".join(f"{describe_symbols(symbols)}: {code} ({message})"
                     for (code, message), symbols in groups.items())


def _ids(record: logging.LogRecord) -> tuple[str | None, str | None]:
    """The record's run and correlation ids; for other libraries' records (yfinance's), those
    of the context that logs them, as formatting runs in the logging thread."""
    run_id = getattr(record, "run_id", None) or _run_id.get()
    correlation_id = getattr(record, "correlation_id", None) or _correlation_id.get()
    return run_id, correlation_id


def _bare_message(record: logging.LogRecord) -> str:
    """The record's message, redacted, without the ``[run:… rp:…]`` prefix the adapter added."""
    message = record.getMessage()
    tags = _tags(getattr(record, "run_id", None), getattr(record, "correlation_id", None))
    prefix = f"[{tags}] "
    if tags and message.startswith(prefix):
        message = message[len(prefix):]
    return redact(message)


class TextFormatter(logging.Formatter):
    """``2024-05-01T12:00:00.123Z WARNING logger [run:… rp:…] message``, secrets masked, one
    line per record: control characters (line breaks included) are written as backslash escapes,
    a logged traceback follows the message on the same line (``… message | Traceback …\\n …``)."""

    def format(self, record: logging.LogRecord) -> str:
        tags = _tags(*_ids(record))
        line = (f"{_utc_iso(record.created)} {record.levelname} {record.name} "
                + (f"[{tags}] " if tags else "") + _bare_message(record))
        if record.exc_info:
            line += " | " + redact(self.formatException(record.exc_info))
        if record.stack_info:
            line += " | " + redact(self.formatStack(record.stack_info))
        return escape_controls(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
    ``message``, ``run_id``, ``correlation_id`` and, for a logged exception, ``exc_info`` (the
    traceback text); secrets masked in every text."""

    def format(self, record: logging.LogRecord) -> str:
        run_id, correlation_id = _ids(record)
        entry: dict[str, Any] = {
            "time": _utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": _bare_message(record),
            "run_id": run_id,
            "correlation_id": correlation_id,
        }
        if record.exc_info:
            entry["exc_info"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = redact(self.formatStack(record.stack_info))
        text = json.dumps(entry, ensure_ascii=False, default=str)
        # json leaves these raw: line breaks to str.splitlines() and most log shippers (NEL,
        # U+2028, U+2029), and lone surrogates no UTF-8 stream can write. They occur only
        # inside JSON strings here, where a \\u escape means the same character.
        return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


_JSON_UNSAFE = re.compile("[\x85\u2028\u2029\ud800-\udfff]")


def _utc_iso(created: float) -> str:
    millis = int(created * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{millis:03d}Z"


class _ConfiguredHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure_logging` installs (so a second call replaces it).

    Without a stream of its own it writes to whatever ``sys.stderr`` is when a line is
    emitted, as ``logging.lastResort`` does, so a swapped stderr is never written after close.
    """

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr  # emit runs under the handler's lock
        super().emit(record)


def configure_logging(level: int | str = logging.WARNING, *, fmt: LogFormat = "text",
                      stream: TextIO | None = None) -> logging.Handler:
    """Send log lines at ``level`` and above to ``stream`` (default: stderr), as text or JSON.

    Installs one handler on the root logger, so other libraries' lines (yfinance's) come out
    in the same format, with the ids of the request that logged them, and lowers the root
    logger's level to ``level`` if it is higher. Calling it again replaces that handler;
    handlers installed otherwise are left alone. Returns the handler (remove it from
    ``logging.getLogger()`` to undo).

    Args:
        level: a ``logging`` level (``logging.INFO``) or its name (``"INFO"``).
        fmt: ``"text"`` (``… WARNING logger [run:… rp:…] message``) or ``"json"`` (one
            object per line; see :class:`JsonFormatter`).
        stream: where lines go; default: ``sys.stderr``.

    Raises:
        ValueError: ``fmt`` is neither ``"text"`` nor ``"json"``, or ``level`` is no level.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', got {fmt!r}")
    handler = _ConfiguredHandler(stream)
    handler.setLevel(level)  # ValueError for an unknown level name, before anything changes
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ConfiguredHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    if root.getEffectiveLevel() > handler.level:
        root.setLevel(handler.level)
    return handler
