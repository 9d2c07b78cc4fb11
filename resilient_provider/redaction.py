"""Masking of secrets in text that leaves the library: log lines, error messages, reprs.

Secrets reach messages through URLs (``https://user:password@host``, ``?apikey=…``) that HTTP
libraries put into their exceptions, and through configuration values. Every boundary that turns
foreign text into our text (error construction, log formatting) passes it through :func:`redact`.
"""

from __future__ import annotations

import re

MASK = "***"

# user:password@ in any URL-like string.
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@")
# key=value pairs whose key names a credential, in query strings, headers or plain text.
_SECRET_PARAM = re.compile(
    r"(?P<key>\b(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|password|passwd"
    r"|pwd|crumb|client[_-]?secret|authorization)\b\s*[=:]\s*)(?P<value>[^&\s,;'\"]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Return ``text`` with URL passwords and credential-like parameters replaced by ``***``."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _SECRET_PARAM.sub(lambda m: f"{m['key']}{MASK}", text)
